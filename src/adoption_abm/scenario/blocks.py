"""The base of every scenario block: a group of inputs that share a source."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..i18n import _


class Block(BaseModel):
    """A group of inputs that share a source. Every number must be covered by a source."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    source: str = Field(
        "", description="Where the block's numbers come from, or 'assumption: why'."
    )
    sources: dict[str, str] = Field(
        default_factory=dict, description="Per-field sources, overriding `source`."
    )

    @model_validator(mode="after")
    def _every_number_has_a_source(self) -> Block:
        fields = type(self).model_fields
        for name in self.sources:
            if name not in fields or name in ("source", "sources"):
                allowed = sorted(n for n in fields if n not in ("source", "sources"))
                raise ValueError(
                    _("sources names unknown field {name!r}; allowed: {names}").format(
                        name=name, names=allowed
                    )
                )
        for name in fields:
            # a default is the code's (a mechanism left switched off): only values a file
            # sets need a source
            if name in ("source", "sources") or name not in self.model_fields_set:
                continue
            value = getattr(self, name)
            if _holds_numbers(value) and not (
                self.sources.get(name, "").strip() or self.source.strip()
            ):
                raise ValueError(
                    _(
                        'field {name!r} holds numbers but has no source: add `source = "..."` '
                        'to the block or `sources.{field} = "..."` (a document, or '
                        "'assumption: ...')"
                    ).format(name=name, field=name)
                )
        return self


def _holds_numbers(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    if isinstance(value, Block):
        return False  # a nested block carries its own sources
    if isinstance(value, Mapping):
        return any(_holds_numbers(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_holds_numbers(v) for v in value)
    return False
