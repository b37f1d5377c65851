"""HTML → PDF with WeasyPrint: a fetcher that reads only allowed files, and safe file writes.

This is the only module that imports WeasyPrint (slow to import), so `handouts --help` and
`handouts list` stay fast.
"""

from __future__ import annotations

import base64
import contextlib
import io
import logging
import mimetypes
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit


def _import_weasyprint() -> None:
    """Import WeasyPrint without ctypes.util.find_library: 150-200 ms less per process
    (each `handouts build`, each pack or web worker).

    WeasyPrint opens Pango, HarfBuzz and the rest by trying several names per library,
    Windows' first; cffi hands each name it cannot open directly to find_library, which
    on Linux runs `ldconfig -p`, then gcc and ld, once per name (Kozea/WeasyPrint#1125).
    Each list also holds the library's soname (libpango-1.0.so.0), which the dynamic
    linker opens itself: the same libraries load, without the subprocesses. On a system
    where they do not, WeasyPrint is imported again the usual way (and says what is
    missing)."""
    if "weasyprint" in sys.modules:
        return
    _import_lazily("fontTools.subset")
    import ctypes.util

    find_library = ctypes.util.find_library
    ctypes.util.find_library = lambda name: None
    stand_in = _stand_in_instancer()
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # its "could not import" notice
            import weasyprint  # noqa: F401
    except OSError:
        pass  # imported below, the usual way
    finally:
        ctypes.util.find_library = find_library
        if sys.modules.get(INSTANCER) is stand_in:
            del sys.modules[INSTANCER]  # any later import gets fontTools' own


INSTANCER = "fontTools.varLib.instancer"


def _stand_in_instancer() -> object | None:
    """A stand-in for fontTools' variable-font instancer while WeasyPrint is imported.

    WeasyPrint imports `instantiateVariableFont` from it at once, which loads fontTools'
    varLib (about 90 ms, a quarter of WeasyPrint's import, in every process) for variable
    fonts only; Atkinson Hyperlegible is static. The stand-in's function imports the real
    one on its first call, so a variable font (a --templates-dir override's) still works.
    A `from` import reads the function at once, so importlib's LazyLoader cannot do this."""
    import types

    if INSTANCER in sys.modules:
        return None

    def instantiate_variable_font(*args, **kwargs):
        from fontTools.varLib.instancer import instantiateVariableFont

        return instantiateVariableFont(*args, **kwargs)

    stand_in = types.ModuleType(INSTANCER)
    stand_in.instantiateVariableFont = instantiate_variable_font  # type: ignore[attr-defined]
    sys.modules[INSTANCER] = stand_in
    return stand_in


def _import_lazily(name: str) -> None:
    """Import `name` as a module that loads on its first use (importlib.util.LazyLoader).

    WeasyPrint imports fontTools' subsetter (50 ms, a sixth of its import) for machines
    without HarfBuzz-Subset, which subsets its fonts everywhere else (.ci/run installs
    it): there, it is never loaded; elsewhere, it loads when WeasyPrint first uses it."""
    import importlib.util

    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        return  # WeasyPrint's own import will say what is missing
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    package, _, child = name.rpartition(".")
    setattr(sys.modules[package], child, module)


_import_weasyprint()

from weasyprint import CSS, HTML  # noqa: E402
from weasyprint.text.ffi import ffi as _ffi  # noqa: E402
from weasyprint.text.fonts import FontConfiguration  # noqa: E402
from weasyprint.urls import URLFetcher, URLFetcherResponse  # noqa: E402


def _unsized_glyph_arrays(ffi) -> None:
    """Let WeasyPrint's font subsetting ask cffi for `hb_codepoint_t[]`, not `[N]`.

    It names each glyph array's type with its length (`hb_codepoint_t[113]`), and cffi
    parses every new type name with pycparser, about 2 ms each: a worker paid that for
    nearly every font of every render until it had seen each length (some 50-100 ms of a
    clinic day's worker). An unsized array of the same items is the same array, and its
    type is parsed once. Any other call goes through unchanged."""
    new = ffi.new
    sized = re.compile(r"(hb_codepoint_t)\[(\d+)\]")

    def new_array(cdecl, init=None):
        match = sized.fullmatch(cdecl) if isinstance(cdecl, str) else None
        if match and init is not None and len(init) == int(match[2]):
            cdecl = f"{match[1]}[]"
        return new(cdecl, init)

    ffi.new = new_array


_unsized_glyph_arrays(_ffi)

from .files import write_atomic  # noqa: E402, F401  (re-exported: callers import it here)

LOGGER = logging.getLogger("weasyprint")


class SafeFetcher(URLFetcher):
    """Serve only local files under the allowed folders (or exactly named files).

    WeasyPrint's default fetcher follows any URL, including http(s) and file:///etc/passwd
    through an attachment link. This one refuses everything else, and records what it refused.
    Inline `data:image/...` URIs (the QR code) are decoded here: they carry their own bytes
    and reach neither files nor the network.
    """

    def __init__(self, roots: Iterable[Path], files: Iterable[Path] = ()):
        super().__init__(allowed_protocols={"file"}, allow_redirects=False)
        self.roots = [root.resolve() for root in roots]
        self.files = {path.resolve() for path in files}
        self.refused: list[str] = []

    def allows(self, path: Path) -> bool:
        return path in self.files or any(path.is_relative_to(root) for root in self.roots)

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        if url.startswith("data:image/"):
            return _data_image(url)
        parts = urlsplit(url)
        path = Path(unquote(parts.path)).resolve() if parts.scheme == "file" else None
        if path is None or parts.netloc not in ("", "localhost") or not self.allows(path):
            self.refused.append(url)
            raise ValueError(f"handouts refuses to load {url!r}: not a project asset")
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(path.as_uri(), body=path.read_bytes(),
                                  headers={"Content-Type": media_type})


def _data_image(url: str) -> URLFetcherResponse:
    header, _, payload = url[len("data:"):].partition(",")
    media_type = header.split(";")[0]
    body = (base64.b64decode(payload) if header.endswith(";base64")
            else unquote(payload).encode("utf-8"))
    return URLFetcherResponse(url, body=body, headers={"Content-Type": media_type})


_VAR = re.compile(r"var\(\s*(--[A-Za-z0-9_-]+)\s*\)")
_CUSTOM_DECLARATION = re.compile(r"(?:^|[{;\s])--[A-Za-z0-9_-]+\s*:")


def inline_custom_properties(texts: tuple[str, ...]) -> tuple[str, ...]:
    """Stylesheets (in cascade order) with each `var(--name)` replaced by its value.

    WeasyPrint checks a declaration that uses var() again for each element it applies to,
    and parses its colour again each time it draws one: a calendar's grid (a few hundred
    ruled cells) and a diary's week tables render 9-12 % faster without (benchmarks/
    README.md), to the same PDF. Done only when it cannot change what var() would give:
    every custom property is declared in a plain `:root` rule (the last one wins, as in
    the cascade: the sheets are all the same origin), none is !important, and every var()
    names a declared one, without a fallback. Otherwise the texts come back unchanged."""
    import tinycss2

    values: dict[str, str] = {}
    for text in texts:
        for rule in tinycss2.parse_stylesheet(text, skip_comments=True, skip_whitespace=True):
            if rule.type == "qualified-rule":
                declarations = tinycss2.parse_blocks_contents(rule.content, skip_comments=True,
                                                              skip_whitespace=True)
                custom = [d for d in declarations
                          if d.type == "declaration" and d.name.startswith("--")]
                if custom and tinycss2.serialize(rule.prelude).strip() != ":root":
                    return texts
                for declaration in custom:
                    if declaration.important:
                        return texts
                    values[declaration.name] = tinycss2.serialize(declaration.value).strip()
            elif rule.type == "at-rule" and rule.content is not None and \
                    _CUSTOM_DECLARATION.search(tinycss2.serialize(rule.content)):
                return texts  # declared in @page, @media...: not a plain :root rule
            elif rule.type == "error":
                return texts
    named = {match.group(1) for text in texts for match in _VAR.finditer(text)}
    if not values or not named <= values.keys() or any(
            text.count("var(") != len(_VAR.findall(text)) for text in texts):
        return texts  # an unknown name, a fallback, or nothing to do
    return tuple(_VAR.sub(lambda match: values[match.group(1)], text) for text in texts)


@dataclass
class RenderedPdf:
    data: bytes
    pages: int
    warnings: list[str] = field(default_factory=list)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        # A note about the machine (which subsetting library it has), not about the document:
        # the fonts are embedded either way, and .ci/run installs HarfBuzz-Subset.
        if "HarfBuzz-Subset" not in message:
            self.messages.append(message)


class PdfWriter:
    """Render HTML to PDF bytes, reusing one FontConfiguration across renders.

    A fresh FontConfiguration per render grows memory without bound in a long batch, so a
    writer is made once per process and reused.
    """

    def __init__(self, roots: Iterable[Path]):
        self.roots = list(roots)
        self.font_config = FontConfiguration()
        self._sheets: dict[tuple[Path, str], CSS] = {}  # (file, its text as parsed) → sheet
        self._inlined: dict[tuple[str, ...], tuple[str, ...]] = {}  # texts → inlined

    def render(self, html: str, base_dir: Path, extra_files: Iterable[Path] = (),
               variant: str | None = "pdf/ua-1", stylesheets: Iterable[Path] = (),
               tags: bool = True) -> RenderedPdf:
        """`stylesheets` are applied after the HTML's own styles (which then must not link
        them too); each is parsed once per writer and again only when its text changes.
        Untagged (`tags=False`, no variant) is for drawings other PDFs take in, whose own
        marking they set (stamp.py's page numbers)."""
        fetcher = SafeFetcher(self.roots, extra_files)
        collect = _Collect()
        LOGGER.addHandler(collect)
        try:
            options = {"pdf_variant": variant, "pdf_tags": tags}
            sheets = self.stylesheets(stylesheets, fetcher)
            document = HTML(string=html, base_url=base_dir.as_uri() + "/",
                            url_fetcher=fetcher).render(font_config=self.font_config,
                                                        stylesheets=sheets, **options)
            data = document.write_pdf(**options)
        finally:
            LOGGER.removeHandler(collect)
        return RenderedPdf(data, len(document.pages), collect.messages)

    def stylesheets(self, paths: Iterable[Path], fetcher: SafeFetcher) -> list[CSS]:
        """The stylesheets at `paths` (in cascade order), parsed, with their custom
        properties inlined (inline_custom_properties); each is parsed again only when its
        text changes."""
        paths = list(paths)
        texts = tuple(path.read_text(encoding="utf-8") for path in paths)
        if texts not in self._inlined:
            if len(self._inlined) > 16:  # edited files, in a long-lived worker
                self._inlined.clear()
            self._inlined[texts] = inline_custom_properties(texts)
        return [self._stylesheet(path, text, fetcher)
                for path, text in zip(paths, self._inlined[texts], strict=True)]

    def _stylesheet(self, path: Path, text: str, fetcher: SafeFetcher) -> CSS:
        # Keyed by the text, not just the file's name: an edited --templates-dir stylesheet
        # is never served stale by a long-lived worker, and handout.css, whose inlined
        # custom properties differ by profile (--tick-gap), is parsed once per profile.
        sheet = self._sheets.get((path, text))
        if sheet is None:
            if len(self._sheets) > 16:  # edited files, in a long-lived worker
                self._sheets.clear()
            sheet = self._sheets[path, text] = CSS(string=text, base_url=path.as_uri(),
                                                   url_fetcher=fetcher,
                                                   font_config=self.font_config)
        return sheet
