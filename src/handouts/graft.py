"""A personal cover without rendering the cover: the personal fields grafted onto a template.

compose.py renders a whole cover page per person (masthead, fields, key points or
contents: about 45 ms of WeasyPrint). Only the personal fields block differs between
people, and what follows it on the page depends on it only through its size (its height
and the margins its first and last lines' blocks give it above and below). So:

- the **fields**: per person, a tiny document holding only the `.personal` block, laid
  out at the cover's width with the same stylesheets (no page furniture, no masthead
  border), so its content stream draws that block and nothing else;
- the **template**: per shared render, start date and fields size, the composed PDF
  for nobody (compose.compose with blank fields) whose cover has, in place of the fields,
  an empty block of exactly that size. Everything on it is where a person's cover has
  it. It holds no personal data and is the same for everyone with the same fields size,
  so callers may keep it (the web keeps it with the shared renders);
- the **graft**: the fields' content stream goes into the template's cover page where
  the fields would be drawn (after the text before them, before the text after them: the
  same reading order), moved to the block's place; their fonts and graphics states join
  the page's resources under names of their own; their structure elements replace the
  empty block's element, their marked-content ids numbered after the page's.

The web (`compose`) keeps a template per start date: a dated one holds its dated pages.
Packs (`compose_packet`) keep the undated base's templates as files in their cache, for
the days to come, whose patients have other start dates: the cover is the same whatever
the date when the dated pages line up with the undated ones, so those pages
(compose._dated_pages) are rendered per patient and go in with the graft.

The result has the same text, look, tags, links and outline as compose.compose's (see
tests/test_graft.py, tests/test_pack_graft.py). Whatever does not fit these assumptions
raises Unsupported, and the caller composes the usual way.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

import pikepdf
from pikepdf import Array, Dictionary, Name

from . import i18n
from .build import Builder
from .context import Cover, Part, build_context
from .options import Options, Personal
from .partcache import PartCache

LOGGER = logging.getLogger("handouts.graft")
FIELDS_OPEN = '<div class="personal">'

# Only the fields block is drawn in the fields document: no page furniture (margin boxes,
# including the cover's own `!important` page number), no backgrounds, no masthead rule.
_MARGINS = ("top-left-corner", "top-left", "top-center", "top-right", "top-right-corner",
            "right-top", "right-middle", "right-bottom", "bottom-right-corner",
            "bottom-right", "bottom-center", "bottom-left", "bottom-left-corner",
            "left-bottom", "left-middle", "left-top")
_BARE = "<style>\n" + "\n".join(
    f"@page {{ @{m} {{ content: none !important; }} }} "
    f"@page :first {{ @{m} {{ content: none !important; }} }}" for m in _MARGINS) + """
html, body, article, header { background: none !important; }
header { border-top: none !important; border-bottom: none !important;
         padding-top: 0 !important; padding-bottom: 0 !important;
         margin-top: 0 !important; margin-bottom: 0 !important; }
</style>
"""


class Unsupported(Exception):
    """This cover cannot be grafted: compose it the usual way."""


@dataclass(frozen=True)
class Template:
    """A composed PDF for nobody, its cover's fields block left empty (`size`: px high,
    margins above and below; its content at x, y px), and where the fields go: `splice`
    (offset in the cover page's decoded content stream), `path` (K indices from the
    Document to the empty block's element), `mcids` (the cover page's marked-content
    count), `ctm` (the transformation there)."""

    data: bytes
    size: tuple[float, float, float]
    x: float
    y: float
    splice: int
    path: tuple[int, ...]
    mcids: int
    ctm: tuple[float, ...]

    def dumps(self) -> bytes:
        """The template as one file: its PDF, with the rest in a comment line before its
        last `startxref` (no offset moves). One file, written whole, so that the PDF and
        its place never disagree; and still a PDF, as partcache.FolderCache keeps them
        (see pack._kept_templates)."""
        at = self.data.rindex(b"startxref")
        place = [self.size, self.x, self.y, self.splice, self.path, self.mcids, self.ctm]
        return self.data[:at] + _KEPT + json.dumps(place).encode() + b"\n" + self.data[at:]

    @classmethod
    def loads(cls, kept: bytes) -> Template:
        """A template from Template.dumps's bytes; Unsupported if they are not that."""
        at = kept.rfind(_KEPT)
        end = kept.find(b"\n", at)
        if at < 0 or not kept.startswith(b"startxref", end + 1):
            raise Unsupported("not a kept template")
        try:
            size, x, y, splice, path, mcids, ctm = json.loads(kept[at + len(_KEPT):end])
            return cls(kept[:at] + kept[end + 1:], tuple(size), x, y, splice, tuple(path),
                       mcids, tuple(ctm))
        except (ValueError, TypeError):
            raise Unsupported("not a kept template") from None


_KEPT = b"%handouts-cover-template "


@dataclass(frozen=True)
class Fields:
    """One person's fields block, alone: a one-page tagged PDF, and the block's place;
    and the title of the PDF they are for (not personal: the handouts' titles)."""

    data: bytes
    size: tuple[float, float, float]
    x: float
    y: float
    title: str = ""


# ---- HTML ------------------------------------------------------------------------------

def cover_html(builder: Builder, parts: list[Part], options: Options, cover: Cover
               ) -> tuple[str, str]:
    """The PDF's title and the cover's HTML, as Builder.render makes them."""
    with i18n.use(options.lang):
        context = build_context(parts, builder.library_for(options.lang), options, cover)
        return (context["document"]["title"],
                builder.renderer.render(context | {"link_stylesheets": False}))


def _fields_span(html: str) -> tuple[int, int]:
    """Where the fields block starts and the masthead (which it ends) closes."""
    start = html.find(FIELDS_OPEN)
    if start < 0 or html.find(FIELDS_OPEN, start + 1) >= 0:
        raise Unsupported("not one fields block")
    end = html.find("</header>", start)
    if end < 0:
        raise Unsupported("fields not at the end of a masthead")
    return start, end


def fields_html(html: str) -> str:
    """A cover's HTML reduced to its fields block, inside the same body, article and
    masthead elements (so the same rules apply and it has the same width)."""
    start, end = _fields_span(html)
    head_end = html.find("</head>")
    opened = []
    for tag in ("body", "article", "header"):
        found = list(re.finditer(rf"<{tag}\b[^>]*>", html[:start]))
        if not found:
            raise Unsupported(f"no <{tag}> around the fields")
        # No id: the fields document must not define the part's anchor.
        opened.append(re.sub(r'\s+id="[^"]*"', "", found[-1].group(0)))
    return (html[:head_end] + _BARE + "</head>\n" + "".join(opened) + "\n"
            + html[start:end] + "</header></article></body></html>\n")


def template_html(html: str, size: tuple[float, float, float]) -> str:
    """A (blank) cover's HTML with an empty fields block of that size (see Template)."""
    start, end = _fields_span(html)
    height, above, below = size
    style = f"height: {height!r}px; margin-top: {above!r}px; margin-bottom: {below!r}px"
    return html[:start] + f'<div class="personal" style="{style}"></div>\n' + html[end:]


# ---- rendering -------------------------------------------------------------------------

def _render(builder: Builder, html: str, options: Options, variant: str | None
            ) -> tuple[bytes, int, tuple[float, float, float]]:
    """(PDF, pages, (x, y, size) of the fields block on page 1: its content box's
    corner, and its size as Template.size)."""
    # handouts.pdf first: it imports WeasyPrint the fast way (pdf._import_weasyprint), which
    # a plain `import weasyprint` here, a worker's first, bypassed (0.5 s more per worker).
    from .pdf import HTML, SafeFetcher  # isort: skip
    from weasyprint.formatting_structure.boxes import BlockBox  # isort: skip

    writer = builder.writer
    logo = options.clinic.logo if options.clinic else None
    fetcher = SafeFetcher(writer.roots, [logo] if logo else [])
    base_url = builder.renderer.default_dir.as_uri() + "/"
    sheets = writer.stylesheets([builder.renderer.asset_path(name)
                                 for name in ("handout.css", options.profile.stylesheet)], fetcher)
    if variant is None:
        # The fields document's own styles (fonts, page size, what it leaves out) are the
        # same for many people: parsed once, not per render. They come first, as in the
        # HTML, so the cascade is the same.
        head_end = html.find("</head>")
        styles = _STYLE.findall(html, 0, head_end)
        html = _STYLE.sub("", html[:head_end]) + html[head_end:]
        sheets.insert(0, _own_sheet(writer, "\n".join(styles), base_url, fetcher))
    document = HTML(string=html, base_url=base_url, url_fetcher=fetcher).render(
        font_config=writer.font_config, stylesheets=sheets, pdf_variant=variant, pdf_tags=True)
    if fetcher.refused:
        raise Unsupported("an asset was refused")
    found = [box for box in _boxes(document.pages[0]._page_box)
             if isinstance(box, BlockBox) and getattr(box, "element", None) is not None
             and box.element.get("class") == "personal" and box.element_tag == "div"]
    if len(found) != 1:
        raise Unsupported("the fields block is not one box on the first page")
    [box] = found
    if box.border_top_width or box.padding_top or box.border_bottom_width \
            or box.padding_bottom:
        raise Unsupported("the fields block has edges of its own")
    data = document.write_pdf(pdf_variant=variant, pdf_tags=True)
    size = (box.height, _through(box, "top"), _through(box, "bottom"))
    return data, len(document.pages), (box.content_box_x(), box.content_box_y(), size)


_STYLE = re.compile(r"<style>(.*?)</style>", re.S)
_SHEETS: dict = {}
_LOCK = threading.Lock()  # the web's tests run workers as threads


def _own_sheet(writer, text: str, base_url: str, fetcher):
    """A parsed stylesheet by its text (which holds no personal data): a few per worker."""
    from .pdf import CSS

    key = (id(writer), base_url, text)
    with _LOCK:
        sheet = _SHEETS.get(key)
    if sheet is None:
        sheet = CSS(string=text, base_url=base_url, url_fetcher=fetcher,
                    font_config=writer.font_config)
        with _LOCK:
            while len(_SHEETS) >= 64:
                _SHEETS.pop(next(iter(_SHEETS)))
            _SHEETS[key] = sheet
    return sheet


def _through(box, side: str) -> float:
    """The margin that collapses through a block's top or bottom edge from its first or
    last child (large print's fields are blocks; standard print's are inline blocks, in
    lines, whose margins stay inside)."""
    from weasyprint.formatting_structure.boxes import BlockBox

    if getattr(box, f"border_{side}_width") or getattr(box, f"padding_{side}"):
        return 0.0
    children = [child for child in box.children if child.is_in_normal_flow()]
    if not children or not isinstance(children[0 if side == "top" else -1], BlockBox):
        return 0.0
    child = children[0 if side == "top" else -1]
    margin = getattr(child, f"margin_{side}") or 0.0
    if margin < 0:
        raise Unsupported("a negative margin")
    return max(margin, _through(child, side))


def _boxes(box):
    yield box
    for child in getattr(box, "children", None) or ():
        yield from _boxes(child)


def render_fields(builder: Builder, parts: list[Part], options: Options, cover: Cover
                  ) -> Fields:
    """This person's fields block alone (cover: as for compose's cover render)."""
    title, html = cover_html(builder, parts, options, cover)
    data, pages, (x, y, size) = _render(builder, fields_html(html), options, None)
    if pages != 1:
        raise Unsupported("the fields take more than a page")
    return Fields(data, size, x, y, title)


def make_template(builder: Builder, parts: list[Part], options: Options, base: bytes,
                  cover: Cover, size: tuple[float, float, float]) -> Template:
    """The composed PDF for nobody with an empty fields block of `size`; made once per
    shared render, start date and fields size."""
    from .compose import compose
    from .join import replace_pages

    blank = replace(options, personal=Personal())
    html = template_html(cover_html(builder, parts, blank, cover)[1], size)
    data, pages, (x, y, _) = _render(builder, html, blank, "pdf/ua-1")
    if pages != 1:
        raise Unsupported("the cover takes more than a page")
    if options.schedule.start and any(part.kind.dated for part in parts):
        # The dated calendar or diary in place of the undated one, as compose does it.
        _, composed, count = compose(builder, parts, blank, base)
        if count != cover.pages:
            raise Unsupported("the blank PDF was rendered whole")
    else:
        from .compose import _blank_cover_pages

        # `cover` was told the base's layout (see _fields): not read again here.
        if _blank_cover_pages(builder, parts, options, base, cover.pages, cover.starts) != 1:
            raise Unsupported("the shared render's cover is not one page")
        composed = base  # its cover is replaced below, as compose would replace it
    whole = replace_pages(composed, [(data, 0)], cover=True)
    with pikepdf.open(io.BytesIO(whole)) as pdf:
        splice, path, mcids, ctm = _find_place(pdf)
    return Template(whole, size, x, y, splice, path, mcids, ctm)


# ---- the graft -------------------------------------------------------------------------

def _kids(element) -> list:
    kids = element.get(Name.K)
    if kids is None:
        return []
    return list(kids) if isinstance(kids, Array) else [kids]


def _mcids(element, found: list) -> list:
    """Marked-content ids under an element, in tree order."""
    for kid in _kids(element):
        if isinstance(kid, int) or (isinstance(kid, pikepdf.Object)
                                    and kid._type_code == pikepdf.ObjectType.integer):
            found.append(int(kid))
        elif isinstance(kid, Dictionary):
            if kid.get(Name.Type) == Name.MCR:
                found.append(int(kid.MCID))
            elif kid.get(Name.Type) != Name.OBJR:
                _mcids(kid, found)
    return found


_BDC = re.compile(rb"<<\s*/MCID\s+(\d+)\s*>>\s*BDC")


def _find_place(pdf: pikepdf.Pdf) -> tuple[int, tuple[int, ...], int, tuple[float, ...]]:
    """Where the fields go on the template's cover page: (splice offset, path to the empty
    block's element, marked-content count, transformation at the splice)."""
    page = pdf.pages[0].obj
    [document] = _kids(pdf.Root.StructTreeRoot)
    empty = []

    def walk(element, path):
        for n, kid in enumerate(_kids(element)):
            if isinstance(kid, Dictionary) and kid.get(Name.Type) not in (Name.MCR, Name.OBJR):
                if Name.Pg in kid and kid.Pg.objgen != page.objgen:
                    continue
                if kid.get(Name.S) == Name.Div and not _kids(kid):
                    empty.append(path + (n,))
                walk(kid, path + (n,))

    walk(document, ())
    if len(empty) != 1:
        raise Unsupported("not one empty block on the cover")
    [path] = empty
    # Marked content before the block in reading order (tree order), and after it; the
    # page's other marked content (page furniture, without elements) is drawn elsewhere.
    before: list = []
    after: list = []
    element = document
    for index in path:
        kids = [(n, kid) for n, kid in enumerate(_kids(element)) if isinstance(kid, Dictionary)
                and (Name.Pg not in kid or kid.Pg.objgen == page.objgen)]
        for n, kid in kids:
            if n != index:
                _mcids(Dictionary(K=Array([kid])), before if n < index else after)
        element = _kids(element)[index]
    if isinstance(page.Contents, Array):
        raise Unsupported("the cover page has several content streams")
    stream = page.Contents.read_bytes()
    places = {int(m.group(1)): m for m in _BDC.finditer(stream)}
    if not before or not set(before) | set(after) <= set(places):
        raise Unsupported("marked content and elements disagree")
    # Right after the text just before the block in reading order (an image, a list's
    # bullets are drawn later than the text in both renders), before any text after it.
    splice = stream.find(b"EMC", places[before[-1]].end())
    if splice < 0 or any(places[n].start() < splice for n in after):
        raise Unsupported("the text after the block is drawn before it")
    splice += len(b"EMC")
    ctm = _ctm(pdf, stream[:splice])
    entry = pikepdf.NumberTree(pdf.Root.StructTreeRoot.ParentTree)[int(page.StructParents)]
    if len(entry) <= max(places):
        raise Unsupported("marked content without a parent-tree entry")
    return splice, path, len(entry), ctm


def _multiply(a: tuple, b: tuple) -> tuple:
    """a then b (PDF matrices [a b c d e f], `cm` premultiplies)."""
    return (a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3],
            a[2] * b[0] + a[3] * b[2], a[2] * b[1] + a[3] * b[3],
            a[4] * b[0] + a[5] * b[2] + b[4], a[4] * b[1] + a[5] * b[3] + b[5])


def _ctm(pdf: pikepdf.Pdf, stream: bytes) -> tuple[float, ...]:
    """The transformation in force at the end of a (partial) content stream."""
    ctm: tuple = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    stack = []
    for operands, operator in pikepdf.parse_content_stream(pikepdf.Stream(pdf, stream)):
        op = str(operator)
        if op == "q":
            stack.append(ctm)
        elif op == "Q":
            ctm = stack.pop()
        elif op == "cm":
            ctm = _multiply(tuple(float(v) for v in operands), ctm)
    return tuple(round(v, 6) for v in ctm)


_RESOURCES = (Name.Font, Name.ExtGState, Name.ColorSpace, Name.Pattern, Name.Shading,
              Name.XObject)
_NAMED = {"Tf": 0, "gs": 0, "Do": 0, "cs": 0, "CS": 0, "sh": 0, "scn": -1, "SCN": -1}


def graft(template: Template, fields: Fields,
          patches: list[tuple[bytes, int]] | tuple = ()) -> bytes:
    """The template with these fields on its cover: see the module's docstring. And
    with `patches` in place as join.replace_pages puts them (compose._dated_pages: the
    dated pages of an undated template), in the same parse and write."""
    from .join import _copy, _replace, _saved

    if fields.size != template.size:
        raise Unsupported("the fields are not the template's size")
    if any(start < 1 for _, start in patches):
        raise Unsupported("a patch in the cover's place")  # it would replace the graft
    src = pikepdf.open(io.BytesIO(fields.data))
    out = pikepdf.open(io.BytesIO(template.data))
    sources = [src]
    try:
        page = out.pages[0].obj
        spage = src.pages[0].obj
        ops = list(pikepdf.parse_content_stream(src.pages[0]))
        if ([str(op) for _, op in ops[:3]] != ["cm", "q", "cm"]
                or str(ops[-1][1]) != "Q"):
            raise Unsupported("the fields page is not set up as expected")
        ctm = _multiply(tuple(float(v) for v in ops[2][0]),
                        tuple(float(v) for v in ops[0][0]))
        if tuple(round(v, 6) for v in ctm) != template.ctm:
            raise Unsupported("the fields and the cover are drawn in other units")
        # Resources under names of their own.
        renamed: dict[str, Name] = {}
        sres = spage.Resources
        res = page.Resources
        new_res = Dictionary({key: (Dictionary(dict(value)) if isinstance(value, Dictionary)
                                    else value) for key, value in res.items()})
        for kind in _RESOURCES:
            for key, value in (sres.get(kind) or {}).items():
                name = Name("/Gf" + key[1:])
                renamed[key] = name
                if kind not in new_res:
                    new_res[kind] = Dictionary()
                new_res[kind][name] = _copy(out, value)
        offset = template.mcids
        body = []
        for operands, operator in ops[3:-1]:
            op = str(operator)
            if op in _NAMED and operands:
                operands = list(operands)
                at = _NAMED[op]
                if isinstance(operands[at], Name) and str(operands[at]) in renamed:
                    operands[at] = renamed[str(operands[at])]
            elif op == "BDC" and isinstance(operands[1], Dictionary) \
                    and Name.MCID in operands[1]:
                operands = [operands[0], Dictionary(MCID=int(operands[1].MCID) + offset)]
            elif op == "BDC" and not isinstance(operands[1], Dictionary):
                raise Unsupported("named marked-content properties")
            body.append((operands, operator))
        dx, dy = template.x - fields.x, template.y - fields.y
        stream = page.Contents.read_bytes()
        content = (stream[:template.splice] + b"\nq 1 0 0 1 %s %s cm\n" % (
            _num(dx), _num(dy)) + pikepdf.unparse_content_stream(body) + b"\nQ\n"
                   + stream[template.splice:])
        page.Contents = out.make_stream(content)
        page.Resources = new_res
        _graft_structure(out, src, page, spage, template, offset)
        for patch, start in patches:
            sources.append(pikepdf.open(io.BytesIO(patch)))  # open until saved
            _replace(out, sources[-1], start)
        return _saved(out)
    finally:
        for opened in sources:
            opened.close()
        out.close()


def _num(value: float) -> bytes:
    return (b"%.6f" % value).rstrip(b"0").rstrip(b".") or b"0"


def _graft_structure(out: pikepdf.Pdf, src: pikepdf.Pdf, page, spage, template: Template,
                     offset: int) -> None:
    """The fields' elements in place of the empty block's, their MCIDs moved up."""
    sroot = src.Root.StructTreeRoot
    [sdoc] = _kids(sroot)
    block = sdoc
    for _ in range(3):  # Document > Art (article) > NonStruct (masthead) > Div (fields)
        kids = [k for k in _kids(block) if isinstance(k, Dictionary)]
        if len(kids) != 1:
            raise Unsupported("the fields document has other elements")
        block = kids[0]
    if block.get(Name.S) != Name.Div:
        raise Unsupported("the fields are not one block")
    owners = list(pikepdf.NumberTree(sroot.ParentTree).get(int(spage.StructParents)))
    inside = set()

    def mark(element):
        inside.add(element.objgen)
        for kid in _kids(element):
            if isinstance(kid, Dictionary) and kid.get(Name.Type) not in (Name.MCR,
                                                                          Name.OBJR):
                mark(kid)

    mark(block)
    for owner in owners:
        element = owner
        while element.objgen not in inside:
            if Name.P not in element:
                raise Unsupported("marked content outside the fields block")
            element = element.P
    if len(spage.get(Name.Annots, [])):
        raise Unsupported("links in the fields")
    del block[Name.P]
    for objgen in inside:
        element = src.get_object(objgen)
        if Name.Pg in element:
            del element[Name.Pg]
    copied = out.copy_foreign(block)
    copied_owners = [out.copy_foreign(owner) for owner in owners]
    seen = set()

    def fix(element):
        if element.objgen in seen:
            return
        seen.add(element.objgen)
        element.Pg = page
        kids = element.get(Name.K)
        if kids is None:
            return
        if isinstance(kids, Array):
            new = []
            for kid in kids:
                new.append(_moved(kid, offset, page, fix))
            element.K = Array(new)
        else:
            element.K = _moved(kids, offset, page, fix)

    fix(copied)
    [document] = _kids(out.Root.StructTreeRoot)
    parent = document
    for index in template.path[:-1]:
        parent = _kids(parent)[index]
    kids = _kids(parent)
    kids[template.path[-1]] = copied
    parent.K = Array(kids)
    copied.P = parent
    tree = pikepdf.NumberTree(out.Root.StructTreeRoot.ParentTree)
    key = int(page.StructParents)
    entry = tree[key]
    if len(entry) != template.mcids:
        raise Unsupported("the cover's marked content changed")
    tree[key] = Array([*entry, *copied_owners])


def _moved(kid, offset: int, page, fix):
    if isinstance(kid, Dictionary):
        if kid.get(Name.Type) == Name.MCR:
            return Dictionary(Type=Name.MCR, MCID=int(kid.MCID) + offset, Pg=page)
        if kid.get(Name.Type) == Name.OBJR:
            raise Unsupported("an object reference in the fields")
        fix(kid)
        return kid
    return int(kid) + offset


# ---- composing ---------------------------------------------------------------------------

Size = tuple[float, float, float]
TemplateFor = Callable[[Size, Callable[[], Template]], Template]
"""The caller's templates: (fields size, how to make one) -> the template of that size,
made (and kept, when the caller keeps them) if it has none."""

_LAYOUTS: dict = {}
_FAILED: set = set()


def _layout(base: bytes, parts: list[Part]) -> tuple[str, int, tuple[int, ...]]:
    """The base's sha256, page count and parts' first pages (compose._layout), read once
    per base and process: every person composed from it needs them."""
    from .compose import _layout

    digest = hashlib.sha256(base).hexdigest()
    with _LOCK:
        layout = _LAYOUTS.get(digest)
    if layout is None:
        layout = _layout(base, parts)
        with _LOCK:
            while len(_LAYOUTS) >= 64:
                _LAYOUTS.pop(next(iter(_LAYOUTS)))
            _LAYOUTS[digest] = layout
    return digest, *layout


def _fields(builder: Builder, parts: list[Part], options: Options, base: bytes,
            blank: Options) -> tuple[Fields, Cover]:
    """This person's fields and the cover they are for (compose's); Unsupported when no
    template of their size could be made before for this base and `blank`'s start date."""
    digest, pages, starts = _layout(base, parts)
    cover = Cover(alone=True, pages=pages, starts=starts)
    fields = render_fields(builder, parts, options, cover)
    if (digest, blank.schedule.start, fields.size) in _FAILED:
        raise Unsupported("tried before")
    return fields, cover


def _template(builder: Builder, parts: list[Part], blank: Options, base: bytes,
              cover: Cover, fields: Fields, templates: TemplateFor) -> Template:
    """The template these fields fit, from `templates` or made from the base with
    `blank`'s start date (see make_template); Unsupported when none can be, and then
    remembered (see _fields): not tried again for everyone of that size."""
    try:
        return templates(fields.size, lambda: make_template(builder, parts, blank, base,
                                                            cover, fields.size))
    except Unsupported:
        failed = (_layout(base, parts)[0], blank.schedule.start, fields.size)
        with _LOCK:
            if len(_FAILED) >= 1024:
                _FAILED.clear()
            _FAILED.add(failed)
        raise


def _went_wrong(exc: Exception) -> None:
    # A graft that went wrong must not cost the person their PDF: the caller composes it
    # the usual way. Say so, by the type only: a message might quote the fields.
    LOGGER.warning("cover graft failed (%s); composed the usual way", type(exc).__name__)


_WRONG = (pikepdf.PdfError, ValueError, KeyError, TypeError, AttributeError)


def compose(builder: Builder, parts: list[Part], options: Options, base: bytes,
            templates: dict[Size, Template]) -> tuple[bytes, Template | None]:
    """compose.compose's PDF (same text, look, tags, links, outline) with the cover grafted:
    `templates` are this base's and start date's by fields size (the web's: a dated
    template holds its dated pages, and serves whoever starts that day). Returns the PDF
    and, when none fitted, the template made for it (for the caller to keep), else None.
    Anything this cannot graft is composed the usual way."""
    from .compose import compose as compose_whole

    made: list[Template] = []

    def template_for(size: Size, make: Callable[[], Template]) -> Template:
        if size not in templates:
            made.append(make())
        return templates.get(size) or made[-1]

    try:
        fields, cover = _fields(builder, parts, options, base, options)
        template = _template(builder, parts, options, base, cover, fields, template_for)
        return graft(template, fields), (made[-1] if made else None)
    except Unsupported:
        pass
    except _WRONG as exc:
        _went_wrong(exc)
    return compose_whole(builder, parts, options, base)[1], None


def compose_packet(builder: Builder, parts: list[Part], options: Options, base: bytes,
                   templates: TemplateFor, cache: PartCache | None = None, salt: str = ""
                   ) -> tuple[str, bytes, int]:
    """compose.compose's (title, PDF, pages), with the cover grafted onto a template of the
    undated base, whatever the start date (a pack's: kept for the days to come, when the
    start dates are others, see pack._composed); given a start date, the dated pages
    (compose._dated_pages) go in with the graft. The cover is the same for every start
    date when those pages line up with the undated ones: the base's pages, and so its
    contents list, are the dated PDF's. When they do not, the packet is composed as
    compose does it then (`cache`, `salt`: as there), without rendering its cover and
    dated pages first; anything this cannot graft is composed the usual way."""
    from .compose import _recomposed
    from .compose import compose as compose_whole

    undated = replace(options, schedule=replace(options.schedule, start=None))
    try:
        # The fields first: they are quick (about 12 ms), and tell a size that cannot be
        # grafted before the dated pages are rendered for nothing.
        fields, cover = _fields(builder, parts, options, base, undated)
        patches = _dated_patches(builder, parts, options, base, cover.pages)
        if patches is not None:
            template = _template(builder, parts, undated, base, cover, fields, templates)
            return fields.title, graft(template, fields, patches), cover.pages
        if len(parts) == 1:  # compose renders its dated part whole, with the cover
            raise Unsupported("a lone part's dated pages do not line up")
    except Unsupported:
        return compose_whole(builder, parts, options, base, cache, salt)
    except _WRONG as exc:
        _went_wrong(exc)
        return compose_whole(builder, parts, options, base, cache, salt)
    # A packet whose dated pages do not line up is joined again from its parts, as
    # compose does after rendering its cover and those pages.
    return _recomposed(builder, parts, options, cache, salt)


def _dated_patches(builder: Builder, parts: list[Part], options: Options, base: bytes,
                   pages: int) -> list[tuple[bytes, int]] | None:
    """The dated pages that go in the base's place (compose._dated_pages), none without
    a start date; None when they do not line up with the base's."""
    from .compose import _dated_pages

    if not options.schedule.start:
        return []
    try:
        return _dated_pages(builder, parts, options, base, pages)
    except ValueError:
        return None
