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
# # 2. Comparing proposals under uncertainty
#
# The seeds give the twenty proposals and the mechanisms they aim at, never an effect size or a
# cost. In the model **every effect size is a prior** (low, central, high, with its source or
# marked as an assumption), and costs follow activity at unit costs that are priors too
# (docs/POLICIES.md). A comparison at the central values answers "what if the assumptions are
# right?"; `compare(..., assumptions=N)` answers "how sure are we?": every policy runs under N
# joint draws of its proposals' priors (a Latin hypercube), each on the same replication seeds.
#
# Two sources of spread are kept apart:
#
# * **Monte-Carlo noise** (`mc_half`): the seeds. It shrinks with more replications.
# * **Assumption uncertainty** (`assumption_sd`): the priors. More replications do not shrink it;
#   only better evidence on the effects does.
#
# The effects below (policy minus baseline on the same seed) are **emergent**: nothing in the
# calibration targets them; they follow from the mechanisms and the priors.
#
# **Size.** `ADOPTION_ABM_EXAMPLE_REPLICATIONS` seeds (default 5), `ADOPTION_ABM_EXAMPLE_DRAWS`
# assumption draws (default 20), `ADOPTION_ABM_EXAMPLE_SCALE` (default 0.01) and
# `ADOPTION_ABM_EXAMPLE_WORKERS` local processes (default 2). The defaults take a few minutes on
# two cores.

# %%
import os

import matplotlib.pyplot as plt
import polars as pl

from adoption_abm.analysis.compare import compare

REPLICATIONS = int(os.environ.get("ADOPTION_ABM_EXAMPLE_REPLICATIONS", "5"))
DRAWS = int(os.environ.get("ADOPTION_ABM_EXAMPLE_DRAWS", "20"))
SCALE = float(os.environ.get("ADOPTION_ABM_EXAMPLE_SCALE", "0.01"))
WORKERS = int(os.environ.get("ADOPTION_ABM_EXAMPLE_WORKERS", "2"))

# %% [markdown]
# ## The comparison
#
# Three policies against the baseline: proposals 6 and 7 together (continuing training and
# reverse mentoring), proposal 13 alone, and all twenty. Policies act from January 2027 (the
# scenario's `policy_start`). `fork=True` (the default) simulates 2022-2026 once per seed and
# continues each policy from a copy: the same results, bit for bit, as runs from scratch.

# %%
result = compare(
    "france-2022",
    ["baseline", "6,7", "13", "all"],
    replications=REPLICATIONS,
    assumptions=DRAWS,
    scale=SCALE,
    seed=1,
    workers=WORKERS,
)
print(result.runs.select("policy", "draw", "replication").n_unique(), "runs")

# %% [markdown]
# ## The uncertainty frame
#
# One row per policy × year × metric. `mean` is the expected effect over the draws (vs
# baseline), `low`-`high` the interval covering both sources of spread, `share_assumption` the
# part of the variance due to the priors, `p_beats_baseline` the share of draws in which the
# policy does better than the baseline. 2025 is left out: no policy acts before 2027.

# %%
effects = result.uncertainty.filter(
    pl.col("metric") == "realised_all", pl.col("policy") != "baseline", pl.col("year") >= 2030
).select(
    "policy",
    "year",
    (pl.col("mean") * 100).round(2).alias("effect (pts)"),
    (pl.col("low") * 100).round(2).alias("low"),
    (pl.col("high") * 100).round(2).alias("high"),
    (pl.col("mc_half") * 100).round(2).alias("MC half-width"),
    (pl.col("assumption_sd") * 100).round(2).alias("assumption sd"),
    pl.col("share_assumption").round(2),
    pl.col("p_beats_baseline").round(2),
)
with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=160):
    print(effects)

# %% [markdown]
# ## Effects with their intervals

# %%
y2030 = 2030
one = effects.filter(pl.col("year") == y2030)
fig, ax = plt.subplots(figsize=(6, 3))
ax.errorbar(
    one["effect (pts)"],
    one["policy"].cast(pl.String),
    xerr=[one["effect (pts)"] - one["low"], one["high"] - one["effect (pts)"]],
    fmt="o",
    capsize=4,
)
ax.axvline(0, color="grey", lw=0.8)
ax.set_xlabel(f"realised gain vs baseline, {y2030} (percentage points)")
ax.set_title("Effect over the priors and the seeds")
plt.show()

# %% [markdown]
# ## Probability of beating each other, and ranks
#
# `beats` compares policies pairwise within each draw; `ranks` gives, for each policy, the
# share of draws at each rank (1 = best) on `realised_all`. A policy that ranks first in most
# draws is robust to the assumptions; one whose rank spreads out depends on which prior is
# right.

# %%
beats = result.beats.filter(pl.col("year") == y2030).pivot(
    on="other", index="policy", values="p_beats"
)
print(beats)
ranks = result.ranks.filter(pl.col("year") == y2030).pivot(
    on="rank", index="policy", values="share"
)
print(ranks)

# %% [markdown]
# ## Monthly bands
#
# `bands` holds, month by month, the median over the draws of each policy's mean curve and the
# 95 % band of the draws, for the level and for the difference to the baseline. Plotted here:
# the difference. The band is the assumptions' spread, not the seeds'.

# %%
fig, ax = plt.subplots(figsize=(7, 4))
for policy in result.bands["policy"].unique(maintain_order=True).to_list():
    if policy == "baseline":
        continue
    b = result.bands.filter(pl.col("policy") == policy)
    when = 2022 + b["month"].to_numpy() / 12
    ax.plot(when, b["realised_all_diff"] * 100, label=policy)
    ax.fill_between(
        when,
        b["realised_all_diff_draw_low"] * 100,
        b["realised_all_diff_draw_high"] * 100,
        alpha=0.25,
    )
ax.axhline(0, color="grey", lw=0.8)
ax.set_ylabel("realised gain vs baseline (percentage points)")
ax.legend()
plt.show()

# %% [markdown]
# What to read: before 2027 the differences are zero (same seeds, no policy in force yet).
# After, the width of each band against the distance between curves says whether the ranking
# could flip under other plausible assumptions. `adoption-abm compare --assumptions N` writes the
# same frames and a report with these figures.
