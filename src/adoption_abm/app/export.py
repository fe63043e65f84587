"""The current run as a download: a zip of its frames (Parquet or CSV) and its summary (JSON),
the same files ``adoption-abm run`` writes (``timeseries``, ``indicators``, ``breakdown``,
``summary.json``, ``scenario.toml``), built in memory for Solara's ``FileDownload``."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import polars as pl
import tomli_w

from .. import __version__
from ..model.model import AdoptionModel
from ..scenario.authoring import toml_data
from .session import Settings

FORMATS = ("parquet", "csv")
FRAMES = ("timeseries", "indicators", "breakdown")
"""The run's frames, one file each in the archive."""


def run_frames(model: AdoptionModel) -> dict[str, pl.DataFrame]:
    """The run's frames over the months simulated so far."""
    out = model.outputs()
    return {
        "timeseries": out.timeseries(),
        "indicators": out.indicators(),
        "breakdown": out.breakdown(),
    }


def run_summary(model: AdoptionModel, settings: Settings) -> dict[str, Any]:
    """``summary.json``'s content, as ``adoption-abm run`` writes it, plus the page's settings
    and the months simulated."""
    return {
        "scenario": model.inputs.name,
        "rhythm": model.rhythm,
        "seed": model.seed,
        "scale": model.scale,
        "version": __version__,
        "engine": model.engine,
        "agents": model.n_professionals,
        "policy": settings.interventions(),
        "months": int(model.month),
        "years": model.summary(),
    }


def archive_name(settings: Settings, month: int, fmt: str) -> str:
    """E.g. ``adoption-abm-central-seed1-p6-7-m120-parquet.zip``."""
    props = "-".join(str(p.number) for p in settings.proposals) or "none"
    return f"adoption-abm-{settings.rhythm}-seed{settings.seed}-p{props}-m{month}-{fmt}.zip"


def run_archive(model: AdoptionModel, settings: Settings, fmt: str = "parquet") -> bytes:
    """The zip's bytes: ``<frame>.parquet`` (or ``.csv``) for each frame, ``summary.json`` and
    ``scenario.toml``. Raises ValueError for another format."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r}: allowed {', '.join(FORMATS)}")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, frame in run_frames(model).items():
            data = io.BytesIO()
            if fmt == "parquet":
                frame.write_parquet(data)
            else:
                frame.write_csv(data)
            zf.writestr(f"{name}.{fmt}", data.getvalue())
        summary = run_summary(model, settings)
        zf.writestr("summary.json", json.dumps(summary, indent=2, allow_nan=False) + "\n")
        zf.writestr("scenario.toml", tomli_w.dumps(toml_data(model.inputs)))
    return buffer.getvalue()
