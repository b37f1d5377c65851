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

from .content import Library, load_library
from .context import Cover, Part, build_context, plan_parts
from .errors import HandoutError, RenderError
from .kinds import KINDS
from .options import Options
from .paths import default_content_dir, default_templates_dir
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
    'calendar-brigatinib-from-2026-12-01.pdf'."""
    name = "_".join(part.slug for part in parts)
    if any(part.kind.dated for part in parts):
        schedule = options.schedule
        name += f"-from-{schedule.start.isoformat()}" if schedule.start else ""
        name += f"-{schedule.weeks}-weeks" if schedule.weeks else ""
    if options.paper.name != "letter":
        name += f"-{options.paper.name}"
    if options.profile.name != "standard":
        name += f"-{options.profile.name}"
    return name + ".pdf"


class Builder:
    """Content, templates and a PDF writer, loaded once and reused for every handout."""

    def __init__(self, content_dir: Path | None = None, templates_dir: Path | None = None,
                 today: date | None = None):
        self.library: Library = load_library(content_dir or default_content_dir(), today)
        self.renderer = Renderer(default_templates_dir(), templates_dir)
        self._writer = None

    @property
    def writer(self):
        # Imported here so that commands which never render (list, check, --help) stay fast.
        if self._writer is None:
            from .pdf import PdfWriter
            self._writer = PdfWriter(self.renderer.asset_roots)
        return self._writer

    def plan(self, kinds: list[str], drug: str | None = None) -> list[Part]:
        return plan_parts(self.library, kinds, drug)

    def every_part(self) -> Iterator[list[Part]]:
        """One part list per standalone handout: each kind, and each drug for drug sheets."""
        for kind in KINDS.values():
            if kind.needs_drug:
                for drug_id in self.library.drugs:
                    yield self.plan([kind.name], drug_id)
            else:
                yield self.plan([kind.name])

    def html(self, parts: list[Part], options: Options) -> str:
        return self.renderer.render(build_context(parts, self.library, options))

    def build(self, kinds: list[str], drug: str | None, options: Options,
              output: Path | None = None, out_dir: Path = Path("output")) -> Built:
        """Build one PDF holding the named kinds, in order; return where it went."""
        return self.build_parts(self.plan(kinds, drug), options, output, out_dir)

    def build_parts(self, parts: list[Part], options: Options, output: Path | None = None,
                    out_dir: Path = Path("output")) -> Built:
        from .pdf import write_atomic

        target = output or out_dir / default_name(parts, options)
        title, rendered = self.render(parts, options)
        write_atomic(target, rendered.data)
        return Built(target, title, rendered.pages, len(rendered.data),
                     tuple(rendered.warnings), tuple(parts))

    def render(self, parts: list[Part], options: Options, cover: Cover | None = None):
        """The PDF's title and bytes (a pdf.RenderedPdf), in memory: nothing is written.
        With `cover`, page 1 is a cover (see context.Cover and compose.py)."""
        context = build_context(parts, self.library, options, cover)
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
        """Every standalone handout into out_dir; one failure never stops the others."""
        for parts in self.every_part():
            try:
                yield self.build_parts(parts, options, out_dir=out_dir)
            except HandoutError as exc:
                yield Failed(default_name(parts, options), str(exc))
