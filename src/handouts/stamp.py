"""Page numbers ("Page 3 of 41") printed on a joined packet, as WeasyPrint prints them.

compose.render_base joins parts rendered without their page numbers, so that one render
of the FAQ serves packets of any length. The numbers are then drawn by WeasyPrint all the
same, so that they look exactly like a single render's: a **stamp sheet** is a document of
blank pages of the packet's sizes in its order (templates/stamp.html.j2: the same @page
rules from handout.css and the profile, only the bottom-right margin box filled), and each
of its pages goes onto the packet's page as a Form XObject.

The sheet is rendered untagged, and each stamp is drawn inside a pagination artifact: page
furniture a screen reader skips, outside the structure tree, still text to extract and
search. A sheet depends only on the paper, profile, language and page sizes, so packets of
the same length and layout share one (see sheet_key).
"""

from __future__ import annotations

import pikepdf
from pikepdf import Name

from . import i18n
from .build import Builder
from .options import Options

ARTIFACT = b"/Artifact <</Type /Pagination /Subtype /Footer>> BDC"


def page_names(pdf: pikepdf.Pdf) -> tuple[str, ...]:
    """Each page's named page in handout.css: "wide" (landscape: calendar and diary) or
    "tall"."""
    names = []
    for page in pdf.pages:
        x0, y0, x1, y1 = (float(v) for v in page.mediabox)
        names.append("wide" if x1 - x0 > y1 - y0 else "tall")
    return tuple(names)


def sheet_key(options: Options, pages: tuple[str, ...]) -> list:
    """What a stamp sheet depends on (besides the templates), for a cache key."""
    return ["stamp", options.paper.name, options.profile.name, options.lang, list(pages)]


def render_sheet(builder: Builder, options: Options, pages: tuple[str, ...]) -> bytes:
    """The stamp sheet: len(pages) blank pages numbered "Page 1 of N".."Page N of N"."""
    with i18n.use(options.lang):
        html = builder.renderer.render({"lang": options.lang, "paper": options.paper,
                                        "pages": list(pages)}, "stamp.html.j2")
    sheets = [builder.renderer.asset_path(name)
              for name in ("handout.css", options.profile.stylesheet)]
    rendered = builder.writer.render(html, builder.renderer.default_dir, variant=None,
                                     stylesheets=sheets, tags=False)
    if rendered.pages != len(pages):
        raise ValueError(f"a stamp sheet of {len(pages)} pages came out {rendered.pages}")
    return rendered.data


def stamped(pdf: pikepdf.Pdf) -> bool:
    """Whether `overlay` numbered this PDF's pages (its last page has a stamp)."""
    xobjects = pdf.pages[-1].obj.get(Name.Resources, {}).get(Name.XObject, {})
    return any(str(key).startswith("/Stamp") for key in xobjects)


def overlay(pdf: pikepdf.Pdf, sheet: pikepdf.Pdf, first: int = 0) -> None:
    """Draw each page of `sheet` over the same page of `pdf`, from page `first` on
    (0-based; a page before it keeps its own number: the cover is rendered with its)."""
    if len(sheet.pages) != len(pdf.pages):
        raise ValueError("a stamp sheet must have as many pages as the PDF it numbers")
    for page, stamp in list(zip(pdf.pages, sheet.pages, strict=True))[first:]:
        if [float(v) for v in page.mediabox] != [float(v) for v in stamp.mediabox]:
            raise ValueError("a stamp sheet's page differs in size from the page it numbers")
        form = pdf.copy_foreign(stamp.as_form_xobject())
        name = page.add_resource(form, Name.XObject, prefix="Stamp")
        # The page's own drawing is closed in q/Q, so the stamp starts from the default
        # graphics state, as the sheet's page did.
        page.contents_add(b"q\n", prepend=True)
        page.contents_add(b"Q\nq " + ARTIFACT + b" " + str(name).encode() + b" Do EMC Q\n")
