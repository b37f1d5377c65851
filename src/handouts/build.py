"""The library API: load content once, then build any handout into a PDF file.

    builder = Builder()                                  # shipped content and templates
    builder.build(["drug-sheet"], "brigatinib", Options(), Path("out.pdf"))

A Builder keeps the validated content, the Jinja environment and the PDF writer (with its
font cache), so building many handouts pays the set-up cost once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from . import i18n
from .content import Library, editions, load_library
from .context import Cover, Part, build_context, plan_parts
from .errors import HandoutError, RenderError
from .files import make_folder, slugify, write_atomic, write_new
from .kinds import KINDS
from .options import Options
from .paths import default_content_dir, template_folders

if TYPE_CHECKING:
    from .render import Renderer


@dataclass(frozen=True)
class Built:
    """A handout written to disk."""

    path: Path
    title: str
    pages: int
    size: int
    warnings: tuple[str, ...] = ()
    parts: tuple[Part, ...] = ()  # what it holds, for sidecar files (FHIR)


@dataclass(frozen=True)
class Failed:
    """A handout that could not be built, and why, in one line."""

    name: str
    error: str


def default_name(parts: list[Part], options: Options) -> str:
    """A clear, non-personal file name: 'drug-sheet-brigatinib.pdf', 'faq_questions-a4.pdf',
    'calendar-brigatinib-from-2026-12-01.pdf', 'drug-sheet-alectinib-es.pdf'."""
    name = "_".join(part.slug for part in parts)
    if any(part.kind.dated for part in parts):
        schedule = options.schedule
        name += f"-from-{schedule.start.isoformat()}" if schedule.start else ""
        name += f"-{schedule.weeks}-weeks" if schedule.weeks else ""
    if options.paper.name != "letter":
        name += f"-{options.paper.name}"
    if options.profile.name != "standard":
        name += f"-{options.profile.name}"
    if options.lang != "en":  # English names stay as they always were
        name += f"-{options.lang}"
    return name + ".pdf"


PERSONAL_DIR = "personal"


def is_filled_in(options: Options) -> bool:
    """True when the first page carries a name or date someone typed."""
    personal = options.personal
    return bool(personal.patient or personal.prescriber or personal.date)


def personal_stem(parts: list[Part], options: Options) -> str:
    """The file stem of a filled-in handout: the blank name plus the patient's name slug,
    'drug-sheet-lorlatinib-ana-diaz' (no more of the name than a pack's 'packet-ana-diaz';
    'filled-in' when there is no patient). It goes to OUT_DIR/personal/, apart from the
    blank handouts a clinic shares, and a second one gets '-2' rather than replacing it."""
    patient = options.personal.patient
    return default_name(parts, options).removesuffix(".pdf") + "-" + (
        slugify(patient) if patient else "filled-in")


class Builder:
    """Content, templates and a PDF writer, loaded once and reused for every handout."""

    def __init__(self, content_dir: Path | None = None, templates_dir: Path | None = None,
                 today: date | None = None):
        self.content_dir = content_dir or default_content_dir()
        self.today = today
        self.library: Library = load_library(self.content_dir, today)
        self._libraries: dict[str, Library] = {"en": self.library}
        # Checked now (a bad --templates-dir is one error before anything else); Jinja is
        # loaded on the first render, so a pack re-run with nothing to build never loads it.
        self.template_folders = template_folders(templates_dir)
        self._renderer: Renderer | None = None
        self._writer = None

    @property
    def renderer(self) -> Renderer:
        if self._renderer is None:
            from .render import Renderer

            self._renderer = Renderer(*self.template_folders)
        return self._renderer

    def editions(self) -> tuple[str, ...]:
        """The languages this content has (see content.editions)."""
        return editions(self.content_dir)

    def library_for(self, lang: str) -> Library:
        """The content of one edition, loaded (and validated) the first time it is asked for."""
        if lang not in self._libraries:
            self._libraries[lang] = load_library(self.content_dir, self.today, lang)
        return self._libraries[lang]

    @property
    def writer(self):
        # Imported here so that commands which never render (list, check, --help) stay fast.
        if self._writer is None:
            from .pdf import PdfWriter
            self._writer = PdfWriter(self.renderer.asset_roots)
        return self._writer

    def plan(self, kinds: list[str], drug: str | None = None, lang: str = "en") -> list[Part]:
        return plan_parts(self.library_for(lang), kinds, drug)

    def every_part(self, lang: str = "en") -> Iterator[list[Part]]:
        """One part list per standalone handout: each kind, and each drug for drug sheets."""
        for kind in KINDS.values():
            if kind.needs_drug:
                for drug_id in self.library_for(lang).drugs:
                    yield self.plan([kind.name], drug_id, lang)
            else:
                yield self.plan([kind.name], lang=lang)

    def html(self, parts: list[Part], options: Options) -> str:
        with i18n.use(options.lang):
            return self.renderer.render(build_context(parts, self.library_for(options.lang),
                                                      options))

    def build(self, kinds: list[str], drug: str | None, options: Options,
              output: Path | None = None, out_dir: Path = Path("output")) -> Built:
        """Build one PDF holding the named kinds, in order; return where it went."""
        return self.build_parts(self.plan(kinds, drug, options.lang), options, output, out_dir)

    def build_parts(self, parts: list[Part], options: Options, output: Path | None = None,
                    out_dir: Path = Path("output")) -> Built:
        """Write one PDF: to `output` if given, else under a name of our choosing.

        A filled-in handout (patient, prescriber or date) never takes the blank handout's
        name and never replaces any file: see personal_stem.
        """
        title, rendered = self.render(parts, options)
        if output is not None:
            write_atomic(output, rendered.data)
            target = output
        elif is_filled_in(options):
            target = write_new(out_dir / PERSONAL_DIR, personal_stem(parts, options),
                               rendered.data)
        else:
            target = out_dir / default_name(parts, options)
            write_atomic(target, rendered.data)
        return Built(target, title, rendered.pages, len(rendered.data),
                     tuple(rendered.warnings), tuple(parts))

    def render(self, parts: list[Part], options: Options, cover: Cover | None = None):
        """The PDF's title and bytes (a pdf.RenderedPdf), in memory: nothing is written.
        With `cover`, page 1 is a cover (see context.Cover and compose.py)."""
        with i18n.use(options.lang):
            context = build_context(parts, self.library_for(options.lang), options, cover)
            # The stylesheets go to the PDF writer as files it parses once, not as <link>s
            # that WeasyPrint would fetch and parse again for every render.
            html = self.renderer.render(context | {"link_stylesheets": False})
        logo = options.clinic.logo if options.clinic else None
        sheets = [self.renderer.asset_path(name)
                  for name in ("handout.css", options.profile.stylesheet)]
        rendered = self.writer.render(html, self.renderer.default_dir,
                                      extra_files=[logo] if logo else [], stylesheets=sheets)
        if logo and any(logo.as_uri() in w and "image" in w for w in rendered.warnings):
            # WeasyPrint only warns and leaves the logo out; a clinic's handout without its
            # logo (or with a broken one) is a failed job, not a quiet surprise at the printer.
            raise RenderError(f"clinic logo {logo} cannot be read as a PNG, SVG or JPEG image")
        return context["document"]["title"], rendered

    def build_all(self, options: Options, out_dir: Path = Path("output")
                  ) -> Iterator[Built | Failed]:
        """Every standalone handout into out_dir; one failure never stops the others.

        A folder that cannot be made stops them all, as one error, before any render."""
        make_folder(out_dir)
        for parts in self.every_part(options.lang):
            try:
                yield self.build_parts(parts, options, out_dir=out_dir)
            except HandoutError as exc:
                yield Failed(default_name(parts, options), str(exc))
