"""The handout kinds: what each one is, which template draws it, and whether it needs a drug."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ChoiceError
from .i18n import N_


@dataclass(frozen=True)
class Kind:
    """A handout kind. `label` and `description` are English msgids: show them through
    i18n.gettext (templates: `_(kind.label)`)."""

    name: str
    template: str
    label: str
    description: str
    needs_drug: bool = False
    dated: bool = False  # takes a start date and a number of weeks (Schedule)
    default_weeks: int = 0


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("faq", "faq.html.j2", N_("Stage IV FAQ"),
             N_("Answers to common questions about stage IV ALK-positive lung cancer, "
                "with a glossary.")),
        Kind("drug-sheet", "drug-sheet.html.j2", N_("Medicine sheet"),
             N_("How to take one ALK inhibitor, its side effects, and when to call."),
             needs_drug=True),
        Kind("questions", "questions.html.j2", N_("Questions to ask your doctor"),
             N_("Questions to bring to visits, grouped by topic, with space for answers.")),
        Kind("calendar", "calendar.html.j2", N_("Medicine calendar"),
             N_("A calendar for one ALK inhibitor, filled in from your start date. Tick a box "
                "each time you take a dose."),
             needs_drug=True, dated=True, default_weeks=4),
        Kind("diary", "diary.html.j2", N_("Side-effect diary"),
             N_("A daily diary to note how you feel on one ALK inhibitor, with a guide to when "
                "to call your care team."),
             needs_drug=True, dated=True, default_weeks=2),
    )
}


def kind(name: str) -> Kind:
    try:
        return KINDS[name.lower()]
    except KeyError:
        raise ChoiceError("handout kind", name, list(KINDS)) from None
