"""Scenario authoring: an editable, commented copy of a scenario (``adoption-abm scenario new``)
and the fields in which two scenarios differ (``adoption-abm scenario diff``).

:func:`commented_toml` writes the same values as the resolved scenario (``run`` writes it as
``scenario.toml``), table by table, each field preceded by its meaning (the schema's
``description``) and its source (the block's ``sources.<field>``, else its ``source``), so that
the file loads back into an equal :class:`~adoption_abm.scenario.schema.Scenario`.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import tomli_w
from pydantic import BaseModel

from ..i18n import _
from .blocks import Block
from .schema import Scenario

WIDTH = 99
_BARE = re.compile(r"^[A-Za-z0-9_-]+$")
_SOURCE_KEYS = ("source", "sources")


def _key(name: str) -> str:
    return name if _BARE.match(name) else tomli_w.dumps({"k": name}).split(" = ", 1)[1].strip()


def _comment(text: str, prefix: str = "") -> list[str]:
    text = " ".join(text.split())
    if not text:
        return []
    return textwrap.wrap(f"{prefix}{text}", WIDTH, initial_indent="# ", subsequent_indent="#   ")


def _value(value: Any) -> str:
    """A TOML value on one line (arrays and inline tables included)."""
    if isinstance(value, Mapping):
        inner = ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return tomli_w.dumps({"k": value}).split(" = ", 1)[1].strip()


def _field_description(owner: Any, name: str) -> str:
    if isinstance(owner, BaseModel):
        field = type(owner).model_fields.get(name)
        if field is not None:
            return field.description or ""
    return ""


def _field_source(owner: Any, name: str) -> str:
    """The field's own source (``sources.<field>``); the block's ``source`` is written once, at
    the top of its table."""
    if isinstance(owner, Block) and name not in _SOURCE_KEYS:
        return owner.sources.get(name, "")
    return ""


def _empty_default(name: str, value: Any) -> bool:
    """A block's empty ``source`` or ``sources``: the default, left out."""
    return name in _SOURCE_KEYS and not value


def _child(owner: Any, name: str) -> Any:
    """The object behind key ``name`` of ``owner`` (a model, a mapping, or nothing), for the
    comments of what lies under it. A model whose dump flattens a mapping field (the
    technology families) is looked up in that mapping."""
    if isinstance(owner, BaseModel):
        if name in type(owner).model_fields:
            return getattr(owner, name)
        for field in type(owner).model_fields:
            value = getattr(owner, field)
            if isinstance(value, Mapping) and name in value:
                return value[name]
        return None
    if isinstance(owner, Mapping):
        return owner.get(name)
    return None


def _is_table(value: Any) -> bool:
    return isinstance(value, Mapping) and bool(value)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _inline(value: Any) -> bool:
    """Small mappings of numbers or text (a spread, a Beta, a source table) stay on one line."""
    return (
        isinstance(value, Mapping)
        and len(_value(value)) <= 80
        and not any(isinstance(v, Mapping | list) for v in value.values())
    )


def _table(lines: list[str], path: list[str], data: Mapping[str, Any], owner: Any) -> None:
    simple = [
        (k, v)
        for k, v in data.items()
        if v is not None
        and not _empty_default(k, v)
        and not ((_is_table(v) and not _inline(v)) or _is_table_array(v))
    ]
    simple.sort(key=lambda kv: kv[0] != "source")  # the block's source first
    tables = [(k, v) for k, v in data.items() if _is_table(v) and not _inline(v)]
    arrays = [(k, v) for k, v in data.items() if _is_table_array(v)]
    for name, value in simple:
        if name != "sources":
            lines.extend(_comment(_field_description(owner, name)))
            lines.extend(_comment(_field_source(owner, name), "source: "))
        lines.append(f"{_key(name)} = {_value(value)}")
    for name, value in tables:
        child = _child(owner, name)
        header = [*path, name]
        lines.append("")
        lines.extend(_comment(_field_description(owner, name)))
        if not isinstance(child, Block):  # a block's own fields carry their sources
            lines.extend(_comment(_field_source(owner, name), "source: "))
        if any(not (_is_table(v) and not _inline(v)) for v in value.values()):
            lines.append(f"[{'.'.join(_key(h) for h in header)}]")  # else implied by its tables
        _table(lines, header, value, child)
    for name, items in arrays:
        child = _child(owner, name)
        for k, item in enumerate(items):
            lines.append("")
            if k == 0:
                lines.extend(_comment(_field_description(owner, name)))
            lines.append(f"[[{'.'.join(_key(h) for h in [*path, name])}]]")
            sub = child[k] if isinstance(child, list | tuple) and k < len(child) else None
            _table(lines, [*path, name], item, sub)


def _drop_none(data: Any) -> Any:
    if isinstance(data, Mapping):
        return {k: _drop_none(v) for k, v in data.items() if v is not None}
    if isinstance(data, list):
        return [_drop_none(v) for v in data]
    return data


def toml_data(scenario: Scenario) -> dict[str, Any]:
    """The scenario as TOML-ready data: its JSON dump without the ``None`` of optional fields
    left unset (TOML has no null; absent, they load back as ``None``)."""
    return _drop_none(scenario.model_dump(mode="json"))


def commented_toml(scenario: Scenario, origin: str = "") -> str:
    """``scenario`` as TOML with every field's meaning and source as comments; loading the
    text gives back an equal scenario."""
    intro = (
        f"Scenario {scenario.name!r}: an editable copy{f' of {origin}' if origin else ''}, "
        "written by `adoption-abm scenario new`. Above each field: its meaning (the schema) and "
        "its own source (`sources.<field>`); a table's `source` covers its other fields. Edit "
        "values and sources together; check the file with `adoption-abm validate FILE`, compare "
        "it with another with `adoption-abm scenario diff A B`."
    )
    lines = [*_comment(intro), ""]
    _table(lines, [], toml_data(scenario), scenario)
    return "\n".join(lines).rstrip() + "\n"


# diff ----------------------------------------------------------------------------------------
class Difference(NamedTuple):
    """A field in which two scenarios differ (``None``: absent from that side)."""

    field: str
    a: Any
    b: Any


def flatten(data: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Dotted paths and leaf values of nested mappings (lists of tables indexed ``[k]``; other
    lists are values)."""
    if isinstance(data, Mapping) and data:
        for k, v in data.items():
            yield from flatten(v, f"{prefix}.{k}" if prefix else str(k))
    elif _is_table_array(data):
        for k, v in enumerate(data):
            yield from flatten(v, f"{prefix}[{k}]")
    else:
        yield prefix, data


def is_source(field: str) -> bool:
    """Whether a dotted field is a ``source`` or ``sources.<field>`` text."""
    parts = re.split(r"[.\[]", field)
    return any(p in _SOURCE_KEYS for p in parts[-2:])


def differences(a: Scenario, b: Scenario) -> list[Difference]:
    """Every dotted field whose value differs between ``a`` and ``b``, in ``a``'s order (then
    the fields only ``b`` has)."""
    left = dict(flatten(a.model_dump(mode="json")))
    right = dict(flatten(b.model_dump(mode="json")))
    keys = list(left) + [k for k in right if k not in left]
    return [Difference(k, left.get(k), right.get(k)) for k in keys if left.get(k) != right.get(k)]


def shown(value: Any) -> str:
    """A value as the diff prints it (TOML syntax; absent fields as ``(absent)``)."""
    return _("(absent)") if value is None else _value(value)
