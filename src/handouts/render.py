"""Turn a context into HTML with Jinja.

Autoescape is on for every template whatever its extension (select_autoescape() would miss
*.html.j2), and StrictUndefined makes a missing value an error, never a blank dose line.
A clinic's own templates folder is searched first, file by file; ours stay reachable as
"default:NAME" so an override can extend the original.

The environment is Jinja's immutable sandbox: a clinic's template is text from outside the
project, and a plain environment lets `{{ cycler.__init__.__globals__ }}` reach Python's
internals (and any file). In the sandbox such a template fails with one RenderError.

Interface words go through gettext (jinja2.ext.i18n, newstyle: `{% trans %}` and
`_("... %(name)s", name=...)`), translated into the language set by i18n.use().
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import fontpkg_atkinson_hyperlegible as atkinson
import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from . import i18n
from .context import Part, format_date
from .errors import RenderError
from .links import OnlineLink, online_link
from .paths import template_folders

FONT_DIR = atkinson.ROOT / "files"
FONT_FACES = [  # (file, weight, style)
    ("AtkinsonHyperlegible-Regular.ttf", 400, "normal"),
    ("AtkinsonHyperlegible-Bold.ttf", 700, "normal"),
    ("AtkinsonHyperlegible-Italic.ttf", 400, "italic"),
    ("AtkinsonHyperlegible-BoldItalic.ttf", 700, "italic"),
]


def _bytecode_cache() -> jinja2.FileSystemBytecodeCache | None:
    """Compiled templates kept between processes: compiling ours costs each new process
    (each pack worker, each `handouts build`) about 150 ms before its first render.
    Jinja's default folder is private to the user (made 0700 and checked to be theirs;
    compiled code is code) and each entry is checked against its template's source, so an
    edited or overriding template is compiled afresh. None (compile in memory, as before)
    when no safe folder can be had."""
    try:
        return jinja2.FileSystemBytecodeCache()
    except (RuntimeError, OSError):
        return None


class Renderer:
    """A Jinja environment over the template folders, built once and reused for every handout."""

    def __init__(self, default_dir: Path, override_dir: Path | None = None):
        self.default_dir = default_dir.resolve()
        self.override_dir = template_folders(override_dir)[1]
        search = [d for d in (self.override_dir, self.default_dir) if d]
        self.env = ImmutableSandboxedEnvironment(
            loader=jinja2.ChoiceLoader([
                jinja2.PrefixLoader({"default": jinja2.FileSystemLoader(self.default_dir)},
                                    delimiter=":"),
                jinja2.FileSystemLoader([str(d) for d in search]),
            ]),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            extensions=["jinja2.ext.i18n"],
            bytecode_cache=_bytecode_cache(),
        )
        # Whole sentences with placeholders, whitespace collapsed (babel.cfg says the same).
        self.env.policies["ext.i18n.trimmed"] = True
        self.env.install_gettext_callables(  # type: ignore[attr-defined]
            i18n.gettext, i18n.ngettext, newstyle=True)
        self.env.filters["longdate"] = format_date
        self.env.filters["shortdate"] = lambda value: i18n.format_skeleton(value, "MMMd")
        self.env.filters["weekday"] = lambda value: i18n.weekday_name(value, "abbreviated")
        # Markup: css_content has quoted and escaped the words for CSS already.
        # The arguments are CSS expressions the templates build from numbers (a composed
        # PDF's cover), never from typed text.
        self.env.globals["css_page_of"] = lambda *args, **kw: jinja2.utils.markupsafe.Markup(
            i18n.css_page_of(*args, **kw))
        self.env.globals["css_contents_page"] = lambda *args: jinja2.utils.markupsafe.Markup(
            i18n.css_contents_page(*args))
        # Text (a title, a macro's words: unescaped first) as a quoted CSS string.
        self.env.filters["css_string"] = lambda text: jinja2.utils.markupsafe.Markup(
            i18n.css_string(jinja2.utils.markupsafe.Markup(text).unescape()
                            if isinstance(text, jinja2.utils.markupsafe.Markup) else str(text)))
        self.env.filters["left_column_count"] = left_column_count
        self.env.globals["asset"] = self.asset_url
        self.env.globals["online"] = online
        self.env.globals["link_stylesheets"] = True  # the PDF stage passes them itself
        self.env.globals["font_faces"] = [
            {"url": (FONT_DIR / name).as_uri(), "weight": weight, "style": style}
            for name, weight, style in FONT_FACES
        ]

    @property
    def asset_roots(self) -> list[Path]:
        """Folders the PDF stage may read: the templates (CSS, images) and our fonts."""
        return [d for d in (self.override_dir, self.default_dir, FONT_DIR) if d]

    def asset_url(self, name: str) -> str:
        """The file URL of a stylesheet or image, from the clinic's templates first."""
        return self.asset_path(name).as_uri()

    def asset_path(self, name: str) -> Path:
        """The file of a stylesheet or image, from the clinic's templates first."""
        for folder in (self.override_dir, self.default_dir):
            if folder and (folder / name).is_file():
                return folder / name
        raise RenderError(f"asset not found in the templates folders: {name}")

    def render(self, context: dict[str, Any], template: str = "base.html.j2") -> str:
        try:
            return self.env.get_template(template).render(context)
        except jinja2.TemplateNotFound as exc:
            raise RenderError(f"template not found: {exc.name}") from None
        except jinja2.TemplateSyntaxError as exc:
            raise RenderError(f"{exc.filename}:{exc.lineno}: template syntax error: "
                              f"{exc.message}") from None
        except jinja2.exceptions.SecurityError as exc:
            raise RenderError(f"template tried something templates may not do: {exc}"
                              ) from None
        except jinja2.UndefinedError as exc:
            raise RenderError(f"template uses a value that does not exist: {exc.message}") from None
        except (jinja2.TemplateError, RecursionError) as exc:  # e.g. an include loop
            raise RenderError(f"template cannot be rendered: {type(exc).__name__}") from None


@jinja2.pass_context
def online(context: jinja2.runtime.Context, part: dict[str, Any]) -> OnlineLink | None:
    """Where this part lives online, for its QR code: None when the clinic has no site_url.

    Always the blank, undated handout of the same kind, drug, paper and print size: never
    a name or a date, whatever this PDF carries.
    """
    from .build import default_name  # build imports this module
    from .options import Options

    clinic = context["clinic"]
    if clinic is None or not clinic.site_url:
        return None
    blank = Options(paper=context["paper"], profile=context["profile"])
    return online_link(clinic.site_url, default_name([Part(part["kind"], part["drug"])], blank))


# A line of a diary band's half column: 13 pt bold Atkinson Hyperlegible in about 110 mm
# (letter; A4's landscape page is a little wider). A guess is enough: a wrong one only
# leaves one column a line or two taller than the other.
BAND_CHARS_PER_LINE = 48


def left_column_count(signs: list, chars_per_line: int = BAND_CHARS_PER_LINE) -> int:
    """How many of a two-column sign list's items (Sign, note) go in its left column.

    The split WeasyPrint's balanced `columns: 2` would make, from each item's height in
    lines estimated from its length: the shortest tallest column, the left one the
    taller on a tie. Balancing real columns lays the list out again and again; placing
    the items in two columns ourselves (handout.css, .two-columns) lays it out once.
    """
    lines = [math.ceil((len(sign.text) + (len(note) + 2 if note else 0)) / chars_per_line)
             + (1 if sign.write_in else 0) for sign, note in signs]
    total, best, count = sum(lines), math.inf, 0
    for k in range(len(lines) + 1):
        tallest = max(sum(lines[:k]), total - sum(lines[:k]))
        if tallest <= best:
            best, count = tallest, k
    return count
