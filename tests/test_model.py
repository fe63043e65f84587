"""The Mesa model: agents as views, AgentSet and DataCollector, rule invariants, network."""

from __future__ import annotations

import mesa
import numpy as np
import pytest

from adoption_abm import AdoptionModel, Establishment, Professional
from adoption_abm.model.network import Network, build_network
from adoption_abm.rules.peers import tie_counts
from adoption_abm.rules.states import LEGACY, MASTERED, NOT_USING, USING
from adoption_abm.scenario.mechanisms import CORE_RULES

SMALL = 0.003


@pytest.fixture(scope="module")
def model() -> AdoptionModel:
    return AdoptionModel(seed=3, scale=SMALL)


def test_default_model_runs_with_defaults():
    m = AdoptionModel(scale=SMALL, seed=0)  # every argument has a default
    m.step()
    assert m.month == 1 and m.steps == 1


def test_agents_are_views_on_the_arrays(model):
    pros = model.agents_by_type[Professional]
    assert len(pros) == model.pop.n
    assert len(model.agents_by_type[Establishment]) == model.est.n
    agent = model.professional(5)
    assert agent is model.professional(5)
    agent.skill = 0.25
    assert model.pop.skill[5] == np.float32(0.25)
    model.pop.attitude[5] = 0.75
    assert agent.attitude == 0.75
    agent.set_state("robotics", 2)
    assert model.pop.state[5, 2] == 2 and agent.states["robotics"] == "mastered"
    with pytest.raises(ValueError, match="state must be"):
        agent.set_state("ai", 7)
    with pytest.raises(ValueError, match="unknown family"):
        agent.state("blockchain")
    est = agent.establishment
    assert 5 in est.staff and est.type in model.inputs.type_ids


def test_agentset_operations(model):
    pros = model.agents_by_type[Professional]
    nurses = pros.select(lambda a: a.profession == "hospital_nurse")
    assert len(nurses) == int(
        (model.pop.profession == model.inputs.profession_ids.index("hospital_nurse")).sum()
    )
    ages = pros.get("age")
    assert len(ages) == model.pop.n and min(ages) >= 18
    by_prof = pros.groupby("profession")
    assert set(by_prof.groups) <= set(model.inputs.profession_ids)


def test_agents_materialised_only_when_asked():
    none = AdoptionModel(seed=1, scale=SMALL, agents="none")
    assert len(none.agents) == 0
    sample = AdoptionModel(seed=1, scale=SMALL, agents=50)
    assert len(sample.agents_by_type[Professional]) == 50
    assert none.professional(3).index == 3  # on demand
    assert len(none.agents_by_type[Professional]) == 1
    with pytest.raises(ValueError, match="agents must be"):
        AdoptionModel(seed=1, scale=SMALL, agents="some")


def test_a_dropped_model_is_freed_with_its_agents():
    """Mesa 3.3 keeps every model alive through ``Agent._ids`` (mesa#3179): a script or worker
    running many models grew by one model a run. Ours count ids in a weak-keyed mapping."""
    import gc
    import weakref

    def run_one() -> tuple[weakref.ref, list[int]]:
        m = AdoptionModel(seed=2, scale=SMALL, agents="all")
        m.run(months=3)
        ids = [a.unique_id for a in m.agents]
        return weakref.ref(m), ids

    ref, ids = run_one()
    gc.collect()
    assert ref() is None
    # ids are still counted from 1 for each model, professionals and establishments together
    again = AdoptionModel(seed=2, scale=SMALL, agents="all")
    assert ids == [a.unique_id for a in again.agents] == list(range(1, len(ids) + 1))


def test_datacollector_collects_every_month():
    m = AdoptionModel(seed=2, scale=SMALL, agents="none")
    m.run(months=14)
    df = m.datacollector.get_model_vars_dataframe()
    assert len(df) == 15  # month 0 and one per step
    assert {"realised_all", "potential_all", "multi_speed_gap", "adoption_ai"} <= set(df.columns)
    ind = m.indicators()
    assert np.allclose(df["realised_all"].to_numpy(), ind["realised_all"].to_numpy())


def test_same_seed_same_state_other_seed_differs():
    a = AdoptionModel(seed=11, scale=SMALL).run(months=30)
    b = AdoptionModel(seed=11, scale=SMALL).run(months=30)
    c = AdoptionModel(seed=12, scale=SMALL).run(months=30)
    for name in ("state", "skill", "trained", "birth", "profession"):
        assert np.array_equal(getattr(a.pop, name), getattr(b.pop, name))
    assert np.array_equal(a.network.indices, b.network.indices)
    assert not np.array_equal(a.pop.state, c.pop.state)


@pytest.mark.parametrize("core", [True, False], ids=["core-rules", "mechanisms"])
def test_rule_invariants_over_a_run(core):
    """Only deployed families are used; deployment is never undone; with the core rules nobody
    un-adopts, with the mechanisms of version 2 states fall only by discontinuance (using to
    not using) or a new generation (mastered to using, marked legacy)."""
    m = AdoptionModel(seed=4, scale=SMALL, agents="none", overrides=CORE_RULES if core else None)
    for _ in range(60):
        before = m.pop.state.copy()
        birth = m.pop.birth.copy()
        deployed = m.est.deployed.copy()
        m.step()
        stayed = m.pop.birth == birth  # not replaced by an entrant this month
        fell = stayed[:, None] & (m.pop.state < before)
        if core:
            assert not fell.any()
        else:
            quit_ = fell & (before == USING) & (m.pop.state == NOT_USING)
            old = fell & (before == MASTERED) & ((m.pop.support & LEGACY) != 0)
            assert np.all(~fell | quit_ | old)
            assert quit_.any() or old.any() or not fell.any()
        # entrants start from scratch, or (cohorts) using what they were trained on
        assert (
            np.all(m.pop.state[~stayed] <= 1)
            if core
            else np.all((m.pop.state[~stayed] <= USING) | (m.pop.trained[~stayed] == 1))
        )
        assert np.all(m.est.deployed >= deployed)
        used = m.pop.state > NOT_USING
        assert np.all(~used | (m.est.deployed[m.pop.establishment] == 1))
        assert np.all((m.pop.skill >= 0) & (m.pop.skill <= 1))
    o = m.outputs()
    real = o.by_profession()
    assert np.all(real["realised"] <= real["potential"] + 1e-12)


def test_demography_replaces_retirees():
    m = AdoptionModel(seed=5, scale=SMALL, agents="none").run(months=12 * 6)
    age = m.year - m.pop.birth
    assert age.max() <= max(p.retirement_age[1] for p in m.inputs.professions.values()) + 1
    assert (age < 26).mean() > 0.01  # entrants arrived


def test_training_raises_skill_and_speeds_mastery():
    diffs = []
    for seed in range(5):
        res = []
        for rate in (0.0, 0.05):
            m = AdoptionModel(
                seed=seed,
                scale=0.004,
                agents="none",
                # continuing training only: no initial training of cohorts
                overrides={"behaviour.training_rate": rate, "mechanisms.cohorts.enabled": False},
            )
            m.run(months=48)
            res.append((m.pop.skill.mean(), (m.pop.state == MASTERED).mean(), m.pop.trained.sum()))
        assert res[0][2] == 0 and res[1][2] > 0
        assert res[1][0] > res[0][0]
        diffs.append(res[1][1] - res[0][1])
    diffs = np.array(diffs)
    assert diffs.mean() - 3 * diffs.std(ddof=1) / np.sqrt(len(diffs)) > 0, diffs


# --- network ----------------------------------------------------------------------------------
def test_network_structure(model):
    net = model.network
    assert net.indptr.dtype == np.int32 and net.indices.dtype == np.int32
    owner = np.repeat(np.arange(net.n), np.diff(net.indptr))
    assert not np.any(net.indices == owner)  # no self ties
    for i in range(0, net.n, 97):
        row = net.ties(i)
        assert len(np.unique(row)) == len(row)
    same_est = model.pop.establishment[net.indices] == model.pop.establishment[owner]
    same_prof = model.pop.profession[net.indices] == model.pop.profession[owner]
    assert same_est.mean() > 0.6  # mostly colleagues
    assert np.all(same_est | same_prof)  # other ties are professional ties
    assert 8 < net.degree().mean() < 14


def test_network_is_reproducible_and_seeded():
    def make(seed):
        rng = np.random.default_rng(seed)
        est = np.repeat(np.arange(20, dtype=np.int32), 30)
        start = np.arange(0, 601, 30)
        prof = rng.integers(0, 3, 600).astype(np.uint8)
        return build_network(
            est, start, np.full(20, 10), prof, team_ties=6, rewiring=0.2,
            establishment_ties=1, professional_ties=2, rng=np.random.default_rng(seed),
        )  # fmt: skip

    assert np.array_equal(make(1).indices, make(1).indices)
    assert not np.array_equal(make(1).indices, make(2).indices)


def test_tie_counts_match_brute_force(model):
    flags = model.pop.state >= 1
    counts = tie_counts(model.network, flags)
    for i in range(0, model.pop.n, 131):
        ties = model.network.ties(i)
        assert np.array_equal(counts[i], flags[ties].sum(axis=0))
    full = Network.complete_graph(50)
    f = np.random.default_rng(0).random((50, 3)) < 0.3
    assert np.array_equal(tie_counts(full, f), f.sum(axis=0)[None, :] - f)


def test_mesa_version_is_supported():
    major, minor = (int(x) for x in mesa.__version__.split(".")[:2])
    assert (major, minor) >= (3, 3)


def test_indicator_series_do_not_depend_on_how_long_the_run_is():
    """The DataCollector reads every month's indicators from one vectorised pass over the
    tallies (model.collector): a month's values must not depend on how many months follow, so
    reductions run row by row, never through BLAS (whose blocking depends on the row count)."""
    from adoption_abm.model.model import Tallies
    from adoption_abm.outputs.indicators import Outputs

    m = AdoptionModel(
        seed=3, scale=0.005, agents="none", interventions=[{"proposal": 6, "start": "2022-03"}]
    ).run(months=40)

    def series(k):
        out = Outputs.from_tallies(m.inputs, Tallies(*(v[:k] for v in m.tallies)), m._potential)
        return out.indicator_columns()

    full = series(41)
    for k in (1, 2, 7, 13, 30):
        part = series(k)
        for key, values in part.items():
            assert np.array_equal(full[key][:k], values, equal_nan=True), (k, key)
    # and the DataCollector holds exactly latest() month by month
    df = m.datacollector.get_model_vars_dataframe()
    assert len(df) == 41 and df["realised_all"].iloc[-1] == m.latest()["realised_all"]
