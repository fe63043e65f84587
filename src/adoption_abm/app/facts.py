"""What the page says beside each proposal's switch, read from the catalogue
(``proposals.toml``, :mod:`adoption_abm.policies.catalogue`), never retyped: the mechanism and
the channels it acts through, the activity it buys, its yearly budget ceiling and the prior
range of its main effect (the first one the catalogue lists)."""

from __future__ import annotations

from dataclasses import dataclass

from ..i18n import N_, _, label, number, percent
from ..policies.catalogue import SHIFT_CHANNELS, catalogue

CHANNEL_NAMES: dict[str, str] = {
    "adoption": N_("adoption"),
    "adoption_family": N_("adoption of some families"),
    "mastery": N_("mastery"),
    "deployment": N_("deployment by establishments"),
    "training": N_("training"),
    "reach": N_("reach of training"),
    "skill_gain": N_("skill gained by training"),
    "training_boost": N_("boost of the trained"),
    "mentoring_take_up": N_("reverse mentoring take-up"),
    "mentoring_capacity": N_("reverse mentoring capacity"),
    "support": N_("support of users"),
    "entrant_skill": N_("entrants' skill"),
    "entrant_attitude": N_("entrants' attitude"),
    "entry_age": N_("entry age"),
    "entrant_exposure": N_("entrants' exposure"),
    "task_opening": N_("tasks opened to other professions"),
    "reinvestment": N_("time reinvested in care"),
    "training_capacity": N_("trainers' capacity"),
}
"""Readable names of the catalogue's channels (:data:`~adoption_abm.policies.catalogue.Channel`)."""


@dataclass(frozen=True)
class ProposalFacts:
    """One proposal as the catalogue gives it (English; :func:`facts_text` translates)."""

    number: int
    title: str
    mechanism: str
    channels: tuple[str, ...]  # in catalogue order, each once
    activity: str
    activity_kinds: tuple[str, ...]
    cost: float  # yearly budget ceiling, M€ at intensity 1
    main_channel: str
    low: float
    value: float
    high: float

    @property
    def shift(self) -> bool:
        """The main effect is added (a shift), not a relative change of a multiplier."""
        return self.main_channel in SHIFT_CHANNELS


def proposal_facts(number: int) -> ProposalFacts:
    """The facts of proposal ``number`` (1-20) from the catalogue."""
    p = catalogue().proposals[number]
    main = p.effects[0]
    return ProposalFacts(
        number=number,
        title=p.title,
        mechanism=p.mechanism,
        channels=tuple(dict.fromkeys(e.channel for e in p.effects)),
        activity=p.activity,
        activity_kinds=tuple(a.kind for a in p.activities),
        cost=p.cost,
        main_channel=main.channel,
        low=main.low,
        value=main.value,
        high=main.high,
    )


def channel_name(channel: str) -> str:
    """A channel's readable name in the current language."""
    return _(CHANNEL_NAMES.get(channel, channel))


def prior_text(f: ProposalFacts) -> str:
    """The main effect's prior, e.g. ``training: +25.0 % to +100.0 % (central +50.0 %)``."""
    if f.shift:
        lo, mid, hi = (number(x, 2, sign=True) for x in (f.low, f.value, f.high))
    else:
        lo, mid, hi = (percent(x, 0, sign=True) for x in (f.low, f.value, f.high))
    return _("{channel}: {low} to {high} (central {value})").format(
        channel=channel_name(f.main_channel), low=lo, high=hi, value=mid
    )


def cost_text(f: ProposalFacts) -> str:
    """The yearly budget ceiling, e.g. ``at most 50 M€ a year``."""
    return _("at most {cost} M€ a year").format(cost=number(f.cost, 1 if f.cost % 1 else 0))


def facts_text(number_: int) -> dict[str, str]:
    """The panel's lines for proposal ``number_`` in the current language: ``title``,
    ``mechanism``, ``channels``, ``activity``, ``cost``, ``prior``. The catalogue's mechanism
    and activity texts are translated like its titles (``label``)."""
    f = proposal_facts(number_)
    return {
        "title": label(f.title),
        "mechanism": label(f.mechanism),
        "channels": ", ".join(channel_name(c) for c in f.channels),
        "activity": label(f.activity),
        "cost": cost_text(f),
        "prior": prior_text(f),
    }
