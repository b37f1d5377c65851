"""Build the one context object every template renders from.

Templates see only what is documented here (CONTEXT_KEYS and PART_KEYS); a test checks the
two stay in step. No medical text is written here: it all comes from the content files.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from . import __version__, i18n
from .content import LEVELS, ContentFile, Drug, Library
from .errors import OptionError
from .grids import calendar_grid, diary_grid, require_diary
from .i18n import _
from .kinds import Kind, kind
from .options import Options
from .sources import citation

CONTEXT_KEYS = {
    "document": "title, subject, author, keywords, lang and generator for the PDF metadata",
    "parts": "the handouts in this PDF, in order (see PART_KEYS)",
    "common": "shared text: disclaimer, emergency line, general urgent signs",
    "glossary": "the glossary content file",
    "clinic": "the clinic's details, or None: templates then draw write-in lines",
    "personal": "patient, prescriber and date, each None when not given",
    "paper": "paper size (name, css_size)",
    "profile": "print profile (name, stylesheet)",
    "show_contents": "True when the PDF holds more than one part, or is one (Cover.part)",
    "alk_drugs": "approved ALK inhibitors from the drug files, and the date that list is as of",
    "levels": "the triage levels' headings (emergency, call_now, next_visit)",
    "cover": "None, or how a composed PDF's first page (a cover) is made: see Cover",
}
PART_KEYS = {
    "kind": "the Kind (name, template, label)",
    "anchor": "a unique id for links from the contents list",
    "title": "the part's heading",
    "content": "the part's content file (Faq, Drug or Questions)",
    "drug": "the Drug for a drug sheet, else None",
    "checked": "the content's last_checked date, for the footer",
    "grid": "the calendar's or diary's grid (see grids.py), else None",
    "version": "the content's version, for the footer",
    "sources": "sources.Citation (text, identifiers) of every source the part's files cite",
    "review": "reviewed_on, reviewer and next_review (the soonest due of the part's files)",
    "key_points": "the part's key points (FAQ and drug sheets), else an empty list",
    "signs": "{level: [(Sign, note)]}: the part's warning signs by triage level",
    "pictograms": "[(name, PictogramText)]: the pictures this part shows beside its text",
}


@dataclass(frozen=True)
class Cover:
    """The first page as a cover: the first part's masthead, the personal fields and the
    contents list (a packet) or key points (a single handout, standard print), then a page
    break, so that pages 2..N do not depend on who the PDF is for (compose.py renders them
    once and the cover per person).

    `alone` renders the cover page only; it then cannot count pages itself, so `pages` is
    the whole PDF's page count and `starts` each part's first page. `segment` (start, stop)
    renders only those parts, as pages `first_page`.. of `pages` (a dated calendar, say,
    to put in place of the undated one of a shared render); with `dated_only`, only their
    pages that show the start date, from `first_page`: a calendar's grid and missed-dose
    box (only its grid when `dated_only` is "grid": the box then starts a page after
    it); a diary's week tables. The rest is the same for every start date.

    `part` renders parts[0] as the part-th part of a packet, without page numbers (its
    anchors are numbered `part`): compose.render_base shares such renders between packets
    that differ in other parts and prints the numbers afterwards (stamp.py). The first part
    begins with a page of its own (its masthead, blank fields and the contents heading,
    laid out as on the cover), which the packet's cover replaces; it is there for the
    outline and the running headers and footers that the masthead sets. With `tall`, the
    part is on the named page "tall", as a portrait part is in a packet that starts with
    a calendar or diary (handout.css): WeasyPrint breaks pages a little differently on a
    named page (it keeps a heading's top margin after a break), so the part must too."""

    alone: bool = False
    pages: int | None = None
    starts: tuple[int, ...] = ()
    segment: tuple[int, int] | None = None
    first_page: int = 1
    dated_only: bool | str = False
    part: int | None = None
    tall: bool = False


@dataclass(frozen=True)
class Part:
    """One handout inside a PDF: a kind and, for drug sheets, its drug."""

    kind: Kind
    drug: Drug | None = None

    @property
    def slug(self) -> str:
        return f"{self.kind.name}-{self.drug.id}" if self.drug else self.kind.name


def plan_parts(library: Library, kind_names: list[str], drug_name: str | None) -> list[Part]:
    """Resolve kind and drug names into parts; repeated kinds are built once."""
    kinds = list(dict.fromkeys(kind(name) for name in kind_names))
    if not kinds:
        raise OptionError("name at least one handout kind, or use --all")
    drug = library.drug(drug_name) if drug_name else None
    needing = [k.name for k in kinds if k.needs_drug]
    if needing and drug is None:
        raise OptionError(f"{needing[0]} needs --drug; choose from: {', '.join(library.drugs)}")
    if drug is not None and "diary" in needing:
        require_diary(drug)
    return [Part(k, drug if k.needs_drug else None) for k in kinds]


def _files_for(part: Part, library: Library) -> list[ContentFile]:
    """The content files whose text a part shows: its own first, then shared ones (every
    part shows warning signs, so triage.yaml is always among them)."""
    if part.drug is not None:
        return [part.drug, library.common, library.triage]
    main = library.faq if part.kind.name == "faq" else library.questions
    extra = [library.glossary] if part.kind.name == "faq" else []
    # The FAQ lists the approved drugs from their files (name, brand, approval date).
    drugs = list(library.drugs.values()) if part.kind.name == "faq" else []
    return [main, *extra, library.common, library.triage, *drugs]


def content_files(parts: list[Part], library: Library) -> list:
    """Every content file a PDF depends on, once each (sources.yaml too: it words the
    citations), for manifests and cache keys: an edit to one file rebuilds exactly the
    handouts that use it."""
    seen: dict[str, object] = {library.sources.origin.shown: library.sources}
    for part in parts:
        for file in _files_for(part, library):
            seen.setdefault(file.origin.shown, file)
    return list(seen.values())


def _grid(part: Part, library: Library, options: Options):
    if part.drug is None or not part.kind.dated:
        return None
    weeks = options.schedule.weeks or part.kind.default_weeks
    if part.kind.name == "calendar":
        return calendar_grid(part.drug, options.schedule, weeks, options.profile.weekday_width)
    return diary_grid(part.drug, library.common, options.schedule, weeks)


def _signs(part: Part, library: Library) -> dict[str, list]:
    """The part's warning signs, by triage level: the drug's own, or the general ones."""
    refs = part.drug.signs if part.drug is not None else library.common.urgent_signs
    return {level: library.signs(refs, level) for level in LEVELS}


def _pictograms(part: Part, library: Library) -> list[tuple[str, Any]]:
    if part.drug is None or part.kind.name != "drug-sheet":
        return []
    food = "with-food" if part.drug.food == "with_food" else "with-or-without-food"
    names = dict.fromkeys([food, *part.drug.pictograms])
    return [(name, library.common.pictograms[name]) for name in names]


def _part_context(number: int, part: Part, library: Library, options: Options
                  ) -> dict[str, Any]:
    files = _files_for(part, library)
    main = files[0]
    # A calendar or diary is about a drug but is not its sheet: say which it is.
    title = (_("%(kind)s: %(title)s") % {"kind": _(part.kind.label), "title": main.title}
             if part.kind.dated else main.title)
    # A drug part's warning signs are its own drug's (from its label), so it cites only the
    # drug file; the shared text it shows (disclaimer, emergency line) states no facts.
    cited = [part.drug] if part.drug is not None else [f for f in files
                                                        if not isinstance(f, Drug)]
    due = min((f.review for f in files), key=lambda review: review.next_review)
    return {
        "kind": part.kind,
        "anchor": f"part-{number}-{part.slug}",
        "title": title,
        "content": main,
        "drug": part.drug,
        "checked": max(f.last_checked for f in files),
        "version": main.version,
        "sources": [citation(source) for source in library.cited(cited)],
        "review": {"reviewed_on": main.review.reviewed_on, "reviewer": main.review.reviewer,
                   "next_review": due.next_review},
        "key_points": list(getattr(main, "key_points", []) if part.kind.name != "calendar"
                           and part.kind.name != "diary" else []),
        "signs": _signs(part, library),
        "pictograms": _pictograms(part, library),
        "grid": _grid(part, library, options),
    }


def document_title(part_contexts: list[dict[str, Any]]) -> str:
    """The PDF title: the handout's own title, or a list of the parts for a combined PDF."""
    titles = [part["title"] for part in part_contexts]
    if len(titles) == 1:
        return titles[0]
    return _("Patient handouts: %(titles)s") % {"titles": "; ".join(titles)}


def build_context(parts: list[Part], library: Library, options: Options,
                  cover: Cover | None = None) -> dict[str, Any]:
    """The context for templates/base.html.j2; keys are documented in CONTEXT_KEYS."""
    clinic = options.clinic
    first = cover.part if cover and cover.part else 1
    part_contexts = [_part_context(n, p, library, options)
                     for n, p in enumerate(parts, first)]
    drug_names = [f"{p.drug.generic} ({p.drug.brand})" for p in parts if p.drug]
    context = {
        "document": {
            "title": document_title(part_contexts),
            "subject": _("Patient information on ALK-positive non-small-cell lung cancer: "
                         "%(handouts)s") % {"handouts": ", ".join(_(p.kind.label)
                                                                  for p in parts)},
            "author": clinic.name if clinic else "handouts",
            "keywords": ", ".join([_("ALK-positive lung cancer"), _("NSCLC"), *drug_names]),
            "lang": options.lang,
            "generator": f"handouts {__version__}",
        },
        "parts": part_contexts,
        "common": library.common,
        "glossary": library.glossary,
        "clinic": clinic,
        "personal": options.personal,
        "paper": options.paper,
        "profile": options.profile,
        "show_contents": len(parts) > 1 or bool(cover and cover.part),
        "alk_drugs": {"drugs": library.approved_drugs(),
                      "as_of": max(d.last_checked for d in library.drugs.values())},
        "levels": library.triage.levels,
        "cover": cover,
    }
    assert set(context) == set(CONTEXT_KEYS)
    return context


def format_date(value: date) -> str:
    """Dates as patients read them, in the current language: 'November 22, 2026',
    '22 de noviembre de 2026'."""
    return i18n.format_date(value, "long")
