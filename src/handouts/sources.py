"""Sources as patients and reviewers read them, and the rules a citable source must meet.

Only primary documents may be printed: the US Prescribing Information (by DailyMed set ID),
journal articles (PMID or DOI), and FDA or NCI pages. The allow-list of web hosts lives here,
in one place, with the reason each host is primary.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from .content import Source
from .i18n import _

# host -> why a patient handout may print a link to it
PRIMARY_HOSTS = {
    "dailymed.nlm.nih.gov": "NLM's DailyMed publishes the FDA-submitted label (SPL) itself",
    "www.accessdata.fda.gov": "Drugs@FDA: approval letters and labels as the FDA holds them",
    "www.fda.gov": "the FDA's own approval notices and Drug Trials Snapshots",
    "www.cancer.gov": "the National Cancer Institute's own patient and trial pages",
    "pubmed.ncbi.nlm.nih.gov": "PubMed's record of the journal article (PMID)",
    "doi.org": "the DOI resolver: leads to the publisher's article",
    "clinicaltrials.gov": "the NIH trial registry record itself",
}

# Words that give away a secondary copy or the authors' own notes: never printed.
_NOT_PRIMARY = ("fact sheet", "handout authors", "drugs.com", "mirror", "reproduction",
                "news")

IDENTIFIER_FIELDS = ("setid", "pmid", "doi")


def dailymed_url(setid: str) -> str:
    return f"https://dailymed.nlm.nih.gov/dailymed/drugInfo.cfm?setid={setid}"


@dataclass(frozen=True)
class Citation:
    """A source as printed: its words, then identifiers kept whole on one line each, so a
    set ID never breaks at a hyphen and a pharmacist can copy it."""

    text: str
    identifiers: tuple[str, ...]

    def __str__(self) -> str:
        return " ".join([self.text, *self.identifiers])


def citation(source: Source) -> Citation:
    """'ALUNBRIG (brigatinib) tablets, US Prescribing Information. Takeda Pharmaceuticals
    America, Inc. Revision date: check DailyMed.' + ('DailyMed set ID 0fe9ff20-….',)"""
    parts = [source.title, source.publisher]
    if source.kind == "label":
        # The title and publisher print as published; the words around them are ours.
        parts.append(_("Revised %(revised)s") % {"revised": source.revised} if source.revised
                     else _("Revision date: check DailyMed"))
    elif source.date:
        parts.append(source.date)
    identifiers = []
    if source.setid:
        identifiers.append(_("DailyMed set ID %(setid)s.") % {"setid": source.setid})
    if source.pmid:
        identifiers.append(f"PMID {source.pmid}.")
    if source.doi:
        identifiers.append(f"doi:{source.doi}")
    if source.url and not (source.setid or source.pmid or source.doi):
        identifiers.append(source.url)
    return Citation(". ".join(part.rstrip(".") for part in parts) + ".", tuple(identifiers))


def problems(source: Source) -> list[tuple[str, str]]:
    """(field, message) for each way a source breaks the primary-source rule."""
    found = []
    has_id = any(getattr(source, name) for name in IDENTIFIER_FIELDS)
    if not has_id and not (source.kind == "agency" and source.url):
        found.append(("id", "has no identifier: give a DailyMed set ID, a PMID or a DOI "
                            "(an FDA or NCI page may give its url)"))
    if source.kind == "label" and not source.setid:
        found.append(("setid", "a US Prescribing Information needs its DailyMed set ID"))
    if source.url:
        host = urlsplit(source.url).hostname or ""
        if urlsplit(source.url).scheme != "https" or host not in PRIMARY_HOSTS:
            found.append(("url", f"{host or source.url!r} is not a primary publisher; allowed: "
                                 f"{', '.join(sorted(PRIMARY_HOSTS))}"))
    text = f"{source.title} {source.publisher}".lower()
    for word in _NOT_PRIMARY:
        if word in text:
            found.append(("title", f"names {word!r}: cite the primary document, never a "
                                   "copy, a database, news or the authors' fact sheet"))
    return found
