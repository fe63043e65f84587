"""``adoption-abm plot`` and ``run --plot``: four figures of a run folder, their data from the
run, valid PNG and HTML files, and clean errors."""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from adoption_abm.analysis import plots
from adoption_abm.analysis.targets import SEED_TARGETS
from adoption_abm.cli.main import app

runner = CliRunner()
TINY = ["--scale", "0.002", "--set", "end_year=2026", "--seed", "1"]
NAMES = ["adoption", "time_freed", "fte_freed", "gaps"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("plot") / "run"
    res = invoke("run", *TINY, "--plot", "--out", str(out))
    assert res.exit_code == 0, res.output
    return out


@pytest.fixture(scope="module")
def run(run_dir) -> plots.Run:
    return plots.read_run(run_dir)


def year_end(table: pl.DataFrame, year: int, **where: str) -> float:
    """The value a table holds at the end of ``year`` (time ``year + 1``), as summary.json."""
    d = table.filter(pl.col("time") == year + 1, *[pl.col(k) == v for k, v in where.items()])
    assert d.height == 1, d
    return float(d[d.columns[-1]][0])


def check_png(path: Path) -> None:
    import matplotlib.image

    assert path.read_bytes()[:8] == PNG_SIGNATURE
    pixels = matplotlib.image.imread(path)
    height, width = pixels.shape[:2]
    assert width >= 600 and height >= 400, (path, width, height)
    assert pixels.std() > 0.05  # not a blank page


def test_run_plot_writes_four_png(run_dir):
    for name in NAMES:
        check_png(run_dir / "plots" / f"{name}.png")
    assert sorted(p.name for p in (run_dir / "plots").iterdir()) == sorted(
        f"{n}.png" for n in NAMES
    )


def test_plot_command_png_and_html(run_dir, tmp_path):
    res = invoke("plot", str(run_dir), "--out", str(tmp_path / "png"))
    assert res.exit_code == 0, res.output
    for name in NAMES:
        check_png(tmp_path / "png" / f"{name}.png")
    res = invoke("plot", str(run_dir), "--format", "html", "--out", str(tmp_path / "html"))
    assert res.exit_code == 0, res.output
    for name in NAMES:
        text = (tmp_path / "html" / f"{name}.html").read_text()
        assert "vegaEmbed" in text
        assert "https://vega.github.io/schema/vega-lite/" in text
    assert not list(tmp_path.rglob("*.tmp"))


def test_adoption_table_is_the_runs_timeseries(run, run_dir):
    t = plots.adoption_table(run)
    ts = pl.read_parquet(run_dir / "timeseries.parquet")
    assert t.height == ts.height
    assert t["profession"].dtype.categories.to_list()[0] == "Surgeons"
    assert t["family"].dtype.categories.to_list() == ["AI", "Digital tools", "Robotics"]
    last = ts.filter(pl.col("month") == ts["month"].max())
    for row in last.iter_rows(named=True):
        prof = plots.short_label(run.scenario.professions[row["profession"]].label)
        fam = run.scenario.technologies[row["family"]].title(row["family"])
        got = t.filter(
            (pl.col("profession") == prof)
            & (pl.col("family") == fam)
            & (pl.col("time") == t["time"].max())
        )["adoption"]
        assert got.to_list() == [row["adoption"]]


def test_time_freed_and_fte_tables_match_the_summary(run, run_dir):
    summary = json.loads((run_dir / "summary.json").read_text())["years"]["2025"]
    tf = plots.time_freed_table(run)
    assert year_end(tf, 2025, series="realised") == summary["realised"]["all"]
    assert year_end(tf, 2025, series="potential") == summary["potential"]["all"]
    fte = plots.fte_freed_table(run)
    for group in plots.FTE_SERIES:
        assert year_end(fte, 2025, group=group) == summary["fte_freed"][group]
    # the last point drawn is the run's last month (end of December 2026)
    assert tf["time"].max() == 2027.0


def test_targets_within_the_run_and_marked_by_rhythm(run):
    t = plots.target_table(run)  # the run ends in 2026: only the 2025 target
    assert t.select("series", "year", "value", "own").rows() == [("realised", 2025, 0.07, True)]
    assert t["time"].to_list() == [2026.0]


def test_targets_of_a_slow_run(run):
    import dataclasses

    long = run.indicators.with_columns(pl.col("year") + 10)  # pretend it reached 2036
    slow = dataclasses.replace(run, indicators=long, summary={**run.summary, "rhythm": "slow"})
    t = plots.target_table(slow)
    assert t.height == len(SEED_TARGETS)
    own = {(r["series"], r["rhythm"]) for r in t.filter("own").iter_rows(named=True)}
    assert own == {("potential", "central"), ("realised", "slow")}


def test_seed_targets_are_the_calibrations():
    from importlib.resources import files

    cal = tomllib.loads(files("adoption_abm.batch").joinpath("data/calibrate.toml").read_text())
    realised = {
        (int(t["output"].rsplit("_", 1)[1]), t["rhythm"], t["value"])
        for t in cal["targets"]
        if t["output"].startswith("realised_all_")
    }
    mine = {(t.year, t.rhythm, t.value) for t in SEED_TARGETS if t.what == "realised"}
    assert mine == realised


def test_gaps_table_is_the_breakdown(run, run_dir, capsys):
    g = plots.gaps_table(run)
    summary = json.loads((run_dir / "summary.json").read_text())["years"]["2025"]
    ages = g.filter(pl.col("breakdown") == "age_band")["group"].unique(maintain_order=True)
    assert ages.cast(pl.String).to_list() == ["under 30", "30-39", "40-49", "50-59", "60 and over"]
    for key, label in (("under_30", "under 30"), ("60_plus", "60 and over")):
        for measure in ("adoption", "realised"):
            got = year_end(g, 2025, breakdown="age_band", group=label, measure=measure)
            assert got == summary["by_age_band"][key][measure]
    types = g.filter(pl.col("breakdown") == "establishment_type")["group"].unique()
    assert "Nursing home" in types.cast(pl.String).to_list()
    got = year_end(
        g, 2025, breakdown="establishment_type", group="Nursing home", measure="realised"
    )
    assert got == summary["by_establishment_type"]["nursing_home"]["realised"]


def test_labels_in_one_dict_per_figure():
    for name, figure in plots.FIGURES.items():
        words = figure.labels()
        assert {"title", "x"} <= set(words), name
        assert all(isinstance(v, str) and v for v in words.values()), name
    assert plots.age_band_label("30_39") == "30-39"
    assert plots.age_band_label("under_30") == "under 30"
    assert plots.age_band_label("60_plus") == "60 and over"


def assert_clean_error(res, *words: str) -> None:
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    assert res.output.startswith("error: ")
    assert len(res.output.strip().splitlines()) == 1, res.output
    for w in words:
        assert w in res.output, res.output


def test_bad_input(run_dir, tmp_path):
    assert_clean_error(invoke("plot", str(tmp_path / "nothing")), "RUN_DIR", "does not exist")
    assert_clean_error(invoke("plot", str(tmp_path)), "not a run folder", "summary.json")
    assert_clean_error(invoke("plot", str(run_dir), "--format", "svg"), "--format", "'svg'")
    assert_clean_error(
        invoke("plot", str(run_dir), "--out", str(run_dir / "summary.json")), "--out", "a file"
    )
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in plots.RUN_FILES:
        (broken / name).write_bytes((run_dir / name).read_bytes())
    (broken / "indicators.parquet").unlink()
    assert_clean_error(invoke("plot", str(broken)), "missing indicators.parquet")
    (broken / "indicators.parquet").write_text("not parquet")
    assert_clean_error(invoke("plot", str(broken)), "cannot be read")
    assert not (broken / "plots").exists()


def test_missing_library_is_one_error_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    out = tmp_path / "run"
    res = invoke("run", *TINY, "--plot", "--out", str(out))
    assert_clean_error(res, "--plot", "Matplotlib", "adoption-abm[report]")
    assert not out.exists()
    monkeypatch.setitem(sys.modules, "altair", None)
    res = invoke("plot", str(tmp_path), "--format", "html")
    assert_clean_error(res, "--format html", "Altair", "--format png")
