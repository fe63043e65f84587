"""The model's rules, month by month: the readable specification.

One month (``AdoptionModel.step``) runs, in this order (docs/ODD.md has the parameters):

1. **Demography** (:mod:`.demography`): professionals who reached their retirement age
   are replaced, in the same post and ties, by entrants (young, new attitude and skill, nothing
   used); with ``mechanisms.cohorts`` on they arrive trained on each family with probability
   ``exposure_f(graduation year) + lever`` and using those their establishment deployed, with
   attitude ``+ attitude_age_slope·(age − 45)``; with ``mechanisms.resistance`` on, a resister
   with probability ``share_p·(1 + age_slope·(age − 45)/10)`` (:mod:`.cohorts`).
2. **January**: non-medical attitude ``−= attitude_effect · freed_i · σ_i``
   (:mod:`.downgrading`); adoption multiplier ψ and training probability recomputed
   (:mod:`.propensity`; also when levers change, and for entrants at once); the year's
   reverse-mentoring pairings formed (:mod:`.mentoring`: young masters, older non-masters of
   the same establishment, ``floor(volunteers · capacity)`` mentees per establishment).
3. **Releases** (:mod:`.generations`): at a family's new generation, its masters become legacy
   users (state using, bit ``LEGACY``), counted at ``carryover`` of a master until relearnt.
4. **Supply** (:mod:`.supply`): the month's expected training demand against the courses the
   budgets in force buy and the trainers' capacity; a limit that binds scales the month's
   training probabilities down to what is served (untouched otherwise, bit for bit).
5. **Professionals** (:mod:`.professionals`, :mod:`.peers`; compiled twin in
   ``engines/_kernels.pyx``), all reacting to last month's state (synchronous update). For
   each family ``f`` that the professional's establishment has deployed, with its uniform ``u``:

   * not using → using if ``u < 1 - exp(-x)``, where the monthly hazard is
     ``x = (p_f + q_f·F) · ψ_i · (1 + s·(skill_i - ½)) · a_{prof,f} · (1 + b)^{trained} ·
     (1 + b_w)^{mentored} · ρ_i``: ``F`` the share of one's ties using or mastering ``f``,
     ``a`` the month's multiplier (rhythm, policies, 1/12 per month), ``ρ_i`` the resister's
     factor while ``F`` is below the peer threshold (else 1);
   * using → mastered if ``u < 1 - exp(-m)``, ``m = μ_{prof,f} · (1 + s_m·(skill_i - ½)) ·
     (1 + b_m)^{trained} · (1 + b_l)^{mentored} · (1 + r)^{legacy}``; otherwise using → not
     using (discontinuance) if ``1 - u < 1 - exp(-d)``, ``d = rate/12 · support ·
     (1 - c_t)^{trained} · (1 - c_m)^{mentored}``;
   * training: with the professional's monthly training probability, one course on a deployed,
     not yet mastered, not yet trained family chosen at random: it marks the family trained and
     moves skill a share ``g`` towards 1.

   The month's uniforms come from :mod:`.stream`: one per family (used by whichever
   transition applies) and one for training. Tallies (:mod:`.tallies`) include each master's
   downgrading shortfall ``σ_i = clip(1 - Δskill/skill_gain, 0, 1)·(1 - opening_p)``.
6. **Establishments** (:mod:`.deployment`): each establishment deploys a family it lacks
   with probability ``1 - exp(-r/12)``, ``r = base_{type,f} · maturity_f(t) ·
   (cost_f(t)/cost_f(t0))^{-ε} · (1 + w_p · share of same-type establishments deployed) ·
   rhythm · policy``, drawn from the model's generator; deployments a policy buys as projects
   are funded within its budget.

Every mechanism of version 2 (``[mechanisms.*]``) has a switch; with all off the rules are
version 1's, bit for bit. Professionals only adopt what their establishment has deployed.
"""

from .demography import replace_retirees
from .deployment import deployment_rates, deployment_step
from .levers import AgentEffect, Levers
from .params import MonthParams, month_params
from .peers import tie_counts
from .professionals import professionals_step
from .propensity import refresh
from .states import MASTERED, NOT_USING, STATE_NAMES, USING, State
from .tallies import MonthTally, age_band, tally

__all__ = [
    "MASTERED",
    "NOT_USING",
    "STATE_NAMES",
    "USING",
    "AgentEffect",
    "Levers",
    "MonthParams",
    "MonthTally",
    "State",
    "age_band",
    "deployment_rates",
    "deployment_step",
    "month_params",
    "professionals_step",
    "refresh",
    "replace_retirees",
    "tally",
    "tie_counts",
]
