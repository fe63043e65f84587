"""The model's rules, month by month: the readable specification.

One month (``AdoptionModel.step``) runs, in this order:

1. **Demography** (:mod:`.demography`): professionals who reached their retirement age
   are replaced, in the same post and ties, by entrants (young, new attitude and skill, nothing
   adopted). Entrants' adoption multiplier and training probability are computed
   (:mod:`.propensity`); everyone's in January (ages move on) and when policy levers change.
2. **Professionals** (:mod:`.professionals`, :mod:`.peers`; compiled twin in
   ``engines/_kernels.pyx``), all reacting to last month's state (synchronous update). For
   each family ``f`` that the professional's establishment has deployed:

   * not using → using, with probability ``1 - exp(-x)``, where the monthly hazard is
     ``x = (p_f + q_f·F + w·M) · ψ_i · (1 + s·(skill_i - ½)) · a_{prof,f} · (1 + b)^{trained}``:
     ``F`` the share of one's ties using or mastering ``f`` (peer influence), ``M`` the share of
     ties at least ``gap`` years younger who master it (reverse mentoring, when on), ``ψ_i`` the
     attitude and age multiplier, ``a`` the month's multiplier for the profession and family
     (rhythm, policies, 1/12 per month);
   * using → mastered, with probability ``1 - exp(-m)``,
     ``m = μ_{prof,f} · (1 + s_m·(skill_i - ½)) · (1 + b_m)^{trained} · (1 + l·M)``;
   * training: with the professional's monthly training probability, one course on a deployed,
     not yet mastered, not yet trained family chosen at random: it marks the family trained and
     moves skill a share ``g`` towards 1.

   The month's uniforms come from :mod:`.stream`: one per family (used by whichever
   transition applies) and one for training.
3. **Establishments** (:mod:`.deployment`): each establishment deploys a family it lacks
   with probability ``1 - exp(-r/12)``, ``r = base_{type,f} · maturity_f(t) ·
   (cost_f(t)/cost_f(t0))^{-ε} · (1 + w_p · share of same-type establishments deployed) ·
   rhythm · policy``, drawn from the model's generator.

Professionals only adopt what their establishment has deployed; nobody un-adopts.
"""

from .demography import replace_retirees
from .deployment import deployment_rates, deployment_step
from .levers import AgentEffect, Levers
from .params import MonthParams, month_params
from .peers import mentor_counts, tie_counts
from .professionals import professionals_step
from .propensity import refresh
from .states import MASTERED, NOT_USING, STATE_NAMES, USING, State
from .tallies import age_band, tally

__all__ = [
    "MASTERED",
    "NOT_USING",
    "STATE_NAMES",
    "USING",
    "AgentEffect",
    "Levers",
    "MonthParams",
    "State",
    "age_band",
    "deployment_rates",
    "deployment_step",
    "mentor_counts",
    "month_params",
    "professionals_step",
    "refresh",
    "replace_retirees",
    "tally",
    "tie_counts",
]
