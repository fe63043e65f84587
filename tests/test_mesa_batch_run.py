"""``AdoptionModel`` works with ``mesa.batch_run`` (the example of docs/BATCH.md), on Mesa 3.3
(no seeding by batch_run: the seed goes in as a parameter; steps max_steps + 1 times) and on
Mesa 3.4+ (``rng=`` seeds, passed as ``seed=`` since the model names it; exactly max_steps)."""

from __future__ import annotations

import inspect

import mesa
import pytest

from adoption_abm import AdoptionModel

PARAMS = {
    "scale": 0.002,
    "rhythm": ["slow", "fast"],
    "agents": "none",
    "overrides": [{"end_year": 2023}],
}
SEEDS = [1, 2]


def batch_run_seeded(max_steps: int) -> list[dict]:
    """The docs' example: one run per rhythm and seed, data at the last step."""
    if "rng" in inspect.signature(mesa.batch_run).parameters:  # Mesa >= 3.4
        return mesa.batch_run(
            AdoptionModel, PARAMS, rng=SEEDS, max_steps=max_steps, display_progress=False
        )
    return mesa.batch_run(
        AdoptionModel, {**PARAMS, "seed": SEEDS}, max_steps=max_steps, display_progress=False
    )


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_mesa_batch_run_example_is_reproducible():
    rows = batch_run_seeded(max_steps=6)
    assert len(rows) == len(SEEDS) * 2
    for row in rows:
        assert row["Step"] == 6
        assert {"realised_all", "multi_speed_gap", "adoption_ai"} <= set(row)
        model = AdoptionModel(
            scale=0.002,
            rhythm=row["rhythm"],
            agents="none",
            overrides={"end_year": 2023},
            seed=row["seed"],
        )
        model.run(months=6)
        # the row holds the model's state after max_steps months, on either Mesa version
        assert row["realised_all"] == model.latest()["realised_all"]
    assert sorted((r["rhythm"], r["seed"]) for r in rows) == sorted(
        (h, s) for h in ("slow", "fast") for s in SEEDS
    )
    assert rows == batch_run_seeded(max_steps=6)


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_mesa_batch_run_stops_at_the_scenario_end():
    rows = batch_run_seeded(max_steps=1000)
    # the model stops itself after 24 months; Mesa 3.3 reports the step before its last
    # (it reads the data at index model.steps - 1), Mesa 3.4+ the last collected step
    last = 24 if "rng" in inspect.signature(mesa.batch_run).parameters else 23
    for row in rows:
        model = AdoptionModel(
            scale=0.002,
            rhythm=row["rhythm"],
            agents="none",
            overrides={"end_year": 2023},
            seed=row["seed"],
        )
        model.run()
        assert model.month == 24 and not model.running
        assert row["Step"] == last
        assert row["realised_all"] == model.datacollector.model_vars["realised_all"][last]
