"""What one download asks for, checked against allow-lists, and how a worker renders it.

A form or query string becomes a RenderJob only through parse_job, which accepts known
kinds, drugs, paper sizes and profiles and nothing else. render_job runs in a worker and
returns PDF bytes: nothing is written to disk.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING

from .. import __version__
from .. import options as options_module
from ..build import Builder, default_name
from ..context import Cover, content_files
from ..errors import OptionError
from ..i18n import N_, _
from ..kinds import KINDS
from ..kinds import kind as kind_named
from ..options import Clinic, Options, Personal
from ..options import paper as paper_named
from ..options import profile as profile_named

if TYPE_CHECKING:  # pdf.py imports WeasyPrint, which only the workers need
    from ..graft import Template
    from ..pdf import RenderedPdf

PERSONAL_FIELDS = {"patient": N_("Prepared for"), "prescriber": N_("Prescriber")}
DOSE_FIELDS = ("dose", "dose_change")  # the staff form's prescribed dose, then one change


@dataclass(frozen=True)
class RenderJob:
    """One handout to render. Names are set only for staff (personalised) downloads."""

    kind: str
    drug: str | None = None
    paper: str = "letter"
    profile: str = "standard"
    start: str | None = None  # first day, for dated kinds (calendar, diary)
    patient: str | None = None
    prescriber: str | None = None
    dose: tuple[str, ...] = ()  # the prescriber's dose steps (staff form, calendar only)
    lang: str = "en"  # the edition (i18n.LANGUAGES)
    cover: bool = False  # rendered with a cover page: the shared base of personal PDFs

    @property
    def personalised(self) -> bool:
        # A prescribed dose is one patient's too: made on demand, never cached or shared.
        return self.patient is not None or self.prescriber is not None or bool(self.dose)

    @property
    def composable(self) -> bool:
        """Personal only on its cover (a dose is printed in the calendar's cells)."""
        return not self.dose

    def base(self) -> RenderJob:
        """The shared render this job's PDF is composed from: no names, no start date
        (a dated calendar is rendered with the cover, see compose.py), a cover page."""
        assert self.composable
        return replace(self, patient=None, prescriber=None, start=None, cover=True)

    @property
    def label(self) -> str:
        """What a log may show: the choices, never a name."""
        shown = [self.kind, self.drug, self.paper, self.profile, self.start, self.lang]
        return " ".join(v for v in shown if v) + (" (personalised)" if self.personalised else "")


def _check_start(start: str) -> None:
    try:
        options_module.schedule(start)
    except OptionError:
        raise OptionError(_("The first day must be a date, like 2026-12-01, from the year "
                            "2000 to 2099.")) from None


def _check_name(field: str, value: str) -> str | None:
    try:
        checked = options_module.personal(value, None, None)
    except OptionError:
        # Never echo the value: it is a patient's name.
        raise OptionError(_("“%(field)s” can be at most %(limit)s characters, on one line.")
                          % {"field": _(PERSONAL_FIELDS[field]),
                             "limit": options_module.MAX_NAME}) from None
    return checked.patient


def parse_job(values: Mapping[str, str], builder: Builder, personal: bool,
              lang: str = "en") -> RenderJob:
    """A RenderJob from form fields; raises ChoiceError or OptionError for anything unknown.

    Choices a kind does not use (a drug for the FAQ, a first day for a drug sheet) are
    checked but dropped, so equal handouts share one cache entry.
    """
    kind = kind_named(values.get("kind", ""))
    drug_name = (values.get("drug") or "").strip()
    drug = builder.library.drug(drug_name).id if drug_name else None
    if kind.needs_drug and drug is None:
        raise OptionError(_("Please choose your medicine for the %(kind)s.")
                          % {"kind": _(kind.label)})
    paper = paper_named(values.get("paper") or "letter").name
    profile = profile_named(values.get("profile") or "standard").name
    start = (values.get("start") or "").strip() or None
    if start:
        _check_start(start)
    names = {field: values.get(field) or None for field in PERSONAL_FIELDS}
    if not personal and any(names.values()):
        raise OptionError(_("Names can only be added with the staff form, so that they "
                            "never appear in a web address."))
    checked = {field: _check_name(field, value) if value else None
               for field, value in names.items()}
    typed = ((values.get(name) or "").strip() for name in DOSE_FIELDS)
    dose = tuple(text for text in typed if text)
    if dose and not personal:
        raise OptionError(_("A prescribed dose can only be added with the staff form."))
    if dose and kind.name != "calendar":
        dose = ()  # only the calendar prints a dose; other kinds ignore it, as with `start`
    if dose:
        try:
            options_module.dose_steps(dose, label="Dose")
        except OptionError:
            raise OptionError(_("Please check the dose: write the first dose like “90 mg” "
                                "and a change like “180 mg from day 8”.")) from None
    return RenderJob(kind.name, drug if kind.needs_drug else None, paper, profile,
                     start if kind.dated else None, **checked, dose=dose, lang=lang)


def published_jobs(builder: Builder) -> dict[str, RenderJob]:
    """Every blank handout by its published file name (links.pdf_path): what `/pdf/<name>`
    answers on the server and what `handouts site` writes into pdf/, so a printed QR code
    works with either."""
    from ..options import PAPERS, PROFILES

    found = {}
    for lang in builder.editions():
        for kind in KINDS.values():
            for drug in builder.library.drugs if kind.needs_drug else [None]:
                for paper in PAPERS:
                    for profile in PROFILES:
                        job = RenderJob(kind.name, drug, paper, profile, lang=lang)
                        found[file_name(job, builder)] = job
    return found


def job_options(job: RenderJob, clinic: Clinic | None) -> Options:
    return Options(paper=paper_named(job.paper), profile=profile_named(job.profile),
                   clinic=clinic, personal=Personal(job.patient, job.prescriber),
                   schedule=options_module.schedule(job.start, dose=job.dose), lang=job.lang)


def file_name(job: RenderJob, builder: Builder) -> str:
    """The same clear, non-personal name `handouts build` would use."""
    return default_name(builder.plan([job.kind], job.drug, job.lang), job_options(job, None))


def input_key(job: RenderJob, builder: Builder, fixed: dict) -> str:
    """A hash of everything a non-personalised PDF depends on: the content files it uses,
    `fixed` (templates hash, clinic, logo hash) and the job's choices. Renders are
    reproducible, so an equal key means byte-identical PDFs."""
    assert not job.personalised
    parts = builder.plan([job.kind], job.drug, job.lang)
    library = builder.library_for(job.lang)
    content = {f.origin.shown: f.origin.sha256 for f in content_files(parts, library)}
    blob = json.dumps({"content": content, "fixed": fixed, "job": asdict(job),
                       "version": __version__}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def render_job(builder: Builder, clinic: Clinic | None, job: RenderJob) -> RenderedPdf:
    """Render one handout to bytes, in a worker (process, or thread in tests)."""
    cover = Cover() if job.cover else None
    return builder.render(builder.plan([job.kind], job.drug, job.lang),
                          job_options(job, clinic), cover)[1]


def compose_job(builder: Builder, clinic: Clinic | None, job: RenderJob, base: bytes,
                templates: dict[float, Template] | None = None
                ) -> tuple[bytes, Template | None]:
    """A personal PDF from its shared base (render_job of job.base()): only the person's
    fields are rendered, grafted onto a cover template from `templates` (this base's and
    start date's, by fields size; see graft.py). Returns the PDF and the template made
    when none fitted (no personal data: the caller may keep it), else None."""
    from .. import graft

    return graft.compose(builder, builder.plan([job.kind], job.drug, job.lang),
                         job_options(job, clinic), base, templates or {})


def calendar_file(builder: Builder, job: RenderJob, remind: list[str]) -> tuple[bytes, str]:
    """The .ics reminders for a dated calendar job, and its file name (the PDF's, .ics)."""
    from datetime import UTC, datetime

    from ..reminders import reminder_calendar, reminder_times, steps_from

    assert job.start is not None and job.drug is not None and not job.personalised
    drug = builder.library.drug(job.drug)
    options = job_options(job, None)
    data = reminder_calendar(drug, options.schedule.start, KINDS["calendar"].default_weeks,
                             reminder_times(drug, remind), steps_from(options.schedule),
                             datetime.now(UTC))
    return data, file_name(job, builder).removesuffix(".pdf") + ".ics"
