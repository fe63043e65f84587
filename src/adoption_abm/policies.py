"""Policy interventions → levers. (Placeholder: the twenty proposals' mechanisms land in a later
change; the catalogue of titles and the intervention format below are fixed.)

An intervention is a mapping::

    {"proposal": 6,            # 1..20, 2018 numbering (see PROPOSALS)
     "start": "2024-01",       # year-month it takes effect (default: scenario start)
     "intensity": 1.0,         # >= 0, 1 = the default strength
     "targets": {"professions": [...], "establishment_types": [...], "age_bands": [...]},  # optional
     "cost": 50.0}             # optional yearly cost in million euros (default: catalogue)
"""

from __future__ import annotations

from typing import Any

from .population import Establishments, Population
from .rules import Levers
from .scenario import Scenario, ScenarioError

PROPOSALS: dict[int, str] = {
    1: "Recruit and train for information search, critical analysis, creativity, empathy, working with machines, teamwork",
    2: "Shorten initial training, especially for doctors; intensify on-the-job and continuing training",
    3: "Programme for current teachers and trainers: new aims, technologies in pedagogy",
    4: "Diversify recruitment: external profiles, mid-career entry, double degrees",
    5: "Mandate a national observatory to identify future skill needs",
    6: "Complementary IT and AI courses in continuing education, including for those far from training",
    7: "Reverse mentoring, recognised as continuing professional development",
    8: "New digital ways to recognise skills (adaptive tests, validation of experience)",
    9: "Watch the impact of new technologies on work; use technologies in quality evaluation",
    10: "A study quantifying the technologies' impact on jobs and skills, widely shared",
    11: "A broad consultation of professionals on their 'dream job' and training needs",
    12: "Calls for projects for large-scale adoption and diffusion of innovative practices",
    13: "Let establishments support their own staff's tech-innovation projects over time",
    14: "Technology adoption and the change of activities at the heart of social dialogue",
    15: "A new architecture of health professions: fluid careers, practice opened to other professions",
    16: "Include the impact on professionals in the evaluation of every publicly financed innovation",
    17: "Redefine the ethical framework (liability when AI is used, new dilemmas)",
    18: "Adjust remuneration away from acts machines can do; task delegation",
    19: "An investment plan in skills adaptation, financing training and support",
    20: "A roadmap for the regulators' own tools, profiles and skills",
}
"""The twenty proposals (#Leplusimportant, 2018 numbering [seed 003]), short English titles."""


def parse_policy(text: str, scenario: Scenario) -> list[dict[str, Any]]:
    """``'baseline'`` → [], ``'6,7'`` → proposals 6 and 7, ``'all'`` → all twenty."""
    text = text.strip().lower()
    if text in ("baseline", "none", ""):
        return []
    if text == "all":
        return [{"proposal": n} for n in PROPOSALS]
    out = []
    for part in text.replace("+", ",").split(","):
        part = part.strip()
        if not part.isdigit() or int(part) not in PROPOSALS:
            raise ValueError(f"unknown proposal {part!r}; allowed: 1-20, 'all' or 'baseline'")
        out.append({"proposal": int(part)})
    return out


class PolicySchedule:
    """The levers in force each month, given a list of interventions."""

    def __init__(self, scenario: Scenario, interventions: list[Any], pop: Population, est: Establishments):
        if interventions:
            raise ScenarioError("interventions", [("interventions", "interventions are not supported yet")])
        self._neutral = Levers.neutral(len(scenario.professions), len(scenario.establishment_types))

    def levers_at(self, month: int) -> Levers:
        """Levers for month ``month``; the same object while nothing changes."""
        return self._neutral
