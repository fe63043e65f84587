# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 5. Your own scenario: a region
#
# A scenario is a validated TOML file (`adoption_abm.scenario.schema.Scenario`): the workforce,
# the professions (headcount, ages, where they work), the establishment types, the technology
# families, the potential table, deployment, behaviour, mechanisms and interventions. The
# built-in `france-2022` documents every number with its source.
#
# Here we derive a **hypothetical rural region** from it: about 9 % of France's workforce, older
# professionals, fewer university hospitals, and establishments that deploy more slowly outside
# hospitals. **Every change below is an illustrative assumption**, not data about a real region:
# replace them with your own figures and sources. The potential table and the behavioural
# parameters are kept: they are France's inputs and calibration, which the region inherits
# unless you have better numbers. What differs in the results is then emergent from the changed
# inputs.
#
# **Size.** `ADOPTION_ABM_EXAMPLE_SEEDS` (default 5) seeds, `ADOPTION_ABM_EXAMPLE_SCALE`
# (default 0.01 for France; the region runs at the same number of simulated professionals).
# The defaults take under a minute.

# %%
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
import tomli_w

from adoption_abm import AdoptionModel, ScenarioError, load_scenario
from adoption_abm.scenario.load import with_overrides

SEEDS = int(os.environ.get("ADOPTION_ABM_EXAMPLE_SEEDS", "5"))
SCALE = float(os.environ.get("ADOPTION_ABM_EXAMPLE_SCALE", "0.01"))
SHARE = 0.09  # the region's share of the national workforce (assumption)

# %% [markdown]
# ## Changing fields
#
# `with_overrides` replaces fields by their dotted path and validates the result (the same
# paths as `adoption-abm run --set FIELD=VALUE`).

# %%
france = load_scenario("france-2022")
changes: dict[str, object] = {
    "name": "rural-region",
    "title": "A hypothetical rural region (illustrative assumptions)",
    "workforce.total": round(france.workforce.total * SHARE),
}
for key, profession in france.professions.items():
    changes[f"professions.{key}.headcount"] = round(profession.headcount * SHARE)
    changes[f"professions.{key}.age.mean"] = profession.age.mean + 3  # an older workforce
for key, kind in france.establishment_types.items():
    changes[f"establishment_types.{key}.count"] = max(1, round(kind.count * SHARE))
changes["establishment_types.chu.count"] = 1  # one university hospital
for kind in ("nursing_home", "ambulatory"):  # slower deployment outside hospitals
    for family, rate in france.deployment.base_rate[kind].items():
        changes[f"deployment.base_rate.{kind}.{family}"] = round(rate * 0.7, 4)
region = with_overrides(france, changes, label="rural-region")
print(region.title)
print({k: p.headcount for k, p in region.professions.items()})

# %% [markdown]
# ## Validation
#
# A value outside what the schema allows is refused with an error naming the field, before any
# run: here a mean age above the maximum.

# %%
try:
    with_overrides(region, {"professions.surgeon.age.mean": 80}, label="rural-region")
except ScenarioError as error:
    print(error)

# %% [markdown]
# ## As a file
#
# Written as TOML, the scenario is read back and validated by `load_scenario`, as
# `adoption-abm validate my.toml` and `adoption-abm run --scenario my.toml` do.

# %%
path = Path(tempfile.mkdtemp(prefix="scenario-")) / "rural-region.toml"
path.write_text(tomli_w.dumps(region.model_dump(mode="json")), encoding="utf-8")
assert load_scenario(path) == region
print(path, f"{path.stat().st_size:,} bytes")

# %% [markdown]
# ## Run and compare with France
#
# The same seeds for both. The region runs at `SCALE / SHARE` so that both simulate about as
# many professionals: the Monte-Carlo noise is comparable.


# %%
def summaries(scenario, scale: float) -> list[dict]:
    return [
        AdoptionModel(scenario, seed=s, scale=scale, agents="none").run().summary()
        for s in range(1, SEEDS + 1)
    ]


results = {"France": summaries(france, SCALE), "rural region": summaries(path, SCALE / SHARE)}
rows = []
for name, runs in results.items():
    for year in ("2025", "2030", "2040"):
        realised = np.array([r[year]["realised"]["all"] for r in runs])
        rows.append(
            {
                "scenario": name,
                "year": year,
                "potential": runs[0][year]["potential"]["all"],
                "realised": realised.mean(),
                "sd over seeds": realised.std(ddof=1) if len(realised) > 1 else float("nan"),
                "FTE freed": np.mean([r[year]["fte_freed"]["all"] for r in runs]),
            }
        )
print(pl.DataFrame(rows))

# %% [markdown]
# The potential (an input) is the same: the region keeps France's potential table and the
# national mix of professions. FTE freed scales with the region's workforce. The realised gain
# is emergent, and the changes above pull it two ways: slower deployment in nursing homes and
# practices lowers it; an older workforce adopts less (the calibrated age effect) but also
# retires sooner, and its replacements arrive trained with their cohort's exposure (the
# `cohorts` mechanism). The size changes too: one university hospital and a ninth of the other
# establishments, so fewer peers of the same type to imitate (deployment's peer weight). Which
# one wins is for the model to say, not for intuition: run each change alone on the same seeds.

# %%
age_only = {k: v for k, v in changes.items() if ".age.mean" in k}
deployment_only = {k: v for k, v in changes.items() if k.startswith("deployment.")}
size_only = {k: v for k, v in changes.items() if k not in age_only and k not in deployment_only}
alone = {
    "France": results["France"],
    "smaller size only": summaries(with_overrides(france, size_only), SCALE / SHARE),
    "older workforce only": summaries(with_overrides(france, age_only), SCALE),
    "slower deployment only": summaries(with_overrides(france, deployment_only), SCALE),
    "rural region": results["rural region"],
}
for name, runs in alone.items():
    realised = np.array([r["2030"]["realised"]["all"] for r in runs])
    print(f"{name:24s} realised 2030: {realised.mean():.1%} (sd {realised.std():.1%})")

# %% [markdown]
# Read each line with its sd over seeds: a difference smaller than that is noise (with few
# seeds at a small scale, as in CI, most are). The region's sd is larger than France's at the
# same number of simulated professionals: it has few establishments, each deploying a family as
# a whole, so one establishment's draw moves a larger share of the workforce. The changes need
# not add up either: they interact through the same establishments and the same professionals.

# ## By establishment type

# %%
years = ["2025", "2030", "2035", "2040"]
fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
for ax, (name, runs) in zip(axes, results.items(), strict=True):
    for kind in runs[0]["2030"]["by_establishment_type"]:
        values = [
            np.mean([r[y]["by_establishment_type"][kind]["realised"] for r in runs]) for y in years
        ]
        ax.plot(years, values, marker="o", label=kind)
    ax.set_title(name)
    ax.set_ylabel("realised gain")
axes[0].legend()
plt.show()

# %% [markdown]
# Compare the nursing-home and ambulatory curves, whose deployment rates were slowed, with the
# hospitals' and clinics', whose rates were not: the gap between the two groups is what the
# slower deployment does, on top of the older workforce that every type shares. The region's
# university hospital is a single establishment: its curve is one draw, not a trend.
#
# To make this your own scenario: write it out as above, edit the TOML (every block keeps a
# `source` or `sources.<field>` entry: say where your numbers come from), check it with
# `adoption-abm validate rural-region.toml`, then run it with
# `adoption-abm run --scenario rural-region.toml` or compare policies on it with
# `adoption-abm compare --scenario rural-region.toml ...`.
