"""Join tagged PDFs into one tagged PDF, keeping one structure tree.

pypdf's merge keeps pages and bookmarks but drops the structure tree, so a merged file is
no longer PDF/UA. This joiner (pikepdf) keeps, for the joined file:

- one StructTreeRoot: a single Document element holding every part's elements, in order;
- the ParentTree and every page's /StructParents (and each link's /StructParent)
  renumbered, so marked content still maps to its elements;
- named destinations prefixed per part (every part has its own `part-1-…` anchors), and
  each link rewritten to match, so contents links and cross-references still work;
- an outline: each part's own bookmarks, optionally under one entry per part;
- /Lang, MarkInfo, DisplayDocTitle and the first part's XMP (with its PDF/UA identifier),
  with the joined title.

Each part's page numbers ("Page 2 of 5") are its own: they are printed on the pages.

`assemble` joins the other way round, for compose.render_base: parts rendered alone and
unnumbered become one packet as a single render would have it (names kept, the packet's
cover and catalog, and the packet's page numbers stamped on: see stamp.py).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import pikepdf
from pikepdf import Array, Dictionary, Name, NumberTree, OutlineItem, String


@dataclass(frozen=True)
class Part:
    """One PDF to join (bytes or a file) and, when wrapped, its outline entry's title."""

    source: bytes | Path
    title: str = ""


def join(parts: list[Part], title: str, wrap: bool = True) -> bytes:
    """One PDF of every part's pages in order. With wrap, the outline has one entry per
    part with that part's own bookmarks nested under it; without, the parts' bookmarks
    follow one another (as a single render of the same parts would have them)."""
    sources = [pikepdf.open(io.BytesIO(part.source) if isinstance(part.source, bytes)
                            else part.source) for part in parts]
    try:  # kept open until saved: copied objects may read their streams
        out = _joined(sources, [part.title for part in parts] if wrap else None,
                      prefixed=True)
        _catalog(out, sources[0], title)
        return _saved(out)
    finally:
        for src in sources:
            src.close()


def assemble(cover: bytes, parts: list[bytes], stamps: bytes) -> bytes:
    """A packet as one render of it would be, from its parts rendered alone without page
    numbers (context.Cover.part: the first begins with a page in the cover's place), its
    cover rendered alone (Cover(alone=True)) and a stamp sheet of its page numbers.

    The parts' named destinations keep their names (each part's anchors are numbered as in
    the packet: `part-3-…`), so the cover's contents links find them; the cover's content
    and tags replace the first part's stand-in page (see replace_pages), and its catalog
    (title, subject, keywords, /Lang, XMP) is the packet's. Every page but the cover (which
    WeasyPrint numbered itself) gets its "Page X of Y" from the stamp sheet (stamp.py).
    """
    from .stamp import overlay

    sources = [pikepdf.open(io.BytesIO(data)) for data in [cover, stamps, *parts]]
    try:
        cover_src, sheet, *part_srcs = sources
        out = _joined(part_srcs, None, prefixed=False)
        _replace(out, cover_src, 0)
        _catalog(out, cover_src, str(cover_src.docinfo.get(Name.Title, "")))
        overlay(out, sheet, first=1)
        return _saved(out)
    finally:
        for src in sources:
            src.close()


def _joined(sources: list[pikepdf.Pdf], titles: list[str] | None, prefixed: bool
            ) -> pikepdf.Pdf:
    """A new PDF of the sources' pages, one structure tree, destinations (prefixed per
    part when `prefixed`) and outline (under one entry per part, given titles)."""
    out = pikepdf.new()
    document = out.make_indirect(Dictionary(Type=Name.StructElem, S=Name.Document, K=Array()))
    root = out.make_indirect(Dictionary(Type=Name.StructTreeRoot, K=Array([document])))
    document.P = root
    parent_tree: dict[int, pikepdf.Object] = {}
    dests: list = []
    outline: list[OutlineItem] = []
    for number, src in enumerate(sources):
        first_page = len(out.pages)
        key_offset = max(parent_tree, default=-1) + 1
        _copy_part(out, src, document, parent_tree, key_offset,
                   f"p{number + 1}-" if prefixed else "", dests)
        items = _outline(src, first_page)
        if titles is not None:
            entry = OutlineItem(titles[number], first_page)
            entry.children.extend(items)
            outline.append(entry)
        else:
            outline.extend(items)
    tree = NumberTree.new(out)
    for key, value in sorted(parent_tree.items()):
        tree[key] = value
    root.ParentTree = tree.obj
    root.ParentTreeNextKey = max(parent_tree, default=-1) + 1
    out.Root.StructTreeRoot = root
    # A name tree's keys are sorted (readers look names up by bisection): "p10-" sorts
    # before "p2-", and the first part's "contents-heading" after the parts' "part-…".
    pairs = sorted(zip(dests[::2], dests[1::2], strict=True), key=lambda pair: bytes(pair[0]))
    out.Root.Names = Dictionary(Dests=Dictionary(Names=Array(
        [item for pair in pairs for item in pair])))
    with out.open_outline() as tree_outline:
        tree_outline.root.extend(outline)
    return out


def _saved(out: pikepdf.Pdf) -> bytes:
    """The PDF's bytes, the same for the same input. Its small objects (a packet's
    thousands of structure elements) go into compressed object streams, as WeasyPrint
    writes them: a joined 41-page packet is 270 KB so, 700 KB without (and quicker to
    write: less to write)."""
    buffer = io.BytesIO()
    out.save(buffer, deterministic_id=True,
             object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return buffer.getvalue()


def _copy_part(out: pikepdf.Pdf, src: pikepdf.Pdf, document: pikepdf.Object,
               parent_tree: dict, offset: int, prefix: str, dests: list) -> None:
    src_root = src.Root.StructTreeRoot
    tops = _as_list(src_root.K)
    for top in tops:
        # Cut each top element (the part's Document) loose from its StructTreeRoot, or
        # copying an element would drag the foreign root and its ParentTree along.
        if Name.P in top:
            del top[Name.P]
    start = len(out.pages)
    with warnings.catch_warnings():  # it warns that named destinations are not copied:
        warnings.simplefilter("ignore", pikepdf.PageCopyWarning)  # we copy them below
        out.pages.extend(src.pages)  # first, so copied elements' /Pg point at these pages
    owners = {}
    for key, value in NumberTree(src_root.ParentTree).items():
        parent_tree[int(key) + offset] = owners[int(key)] = _copy(out, value)
    part_documents = set()
    for top in tops:
        copied = out.copy_foreign(top)
        if copied.get(Name.S) == Name.Document:  # its children join the one Document
            part_documents.add(copied.objgen)
            for kid in _as_list(copied.K):
                kid.P = document
                document.K.append(kid)
        else:
            copied.P = document
            document.K.append(copied)
    # WeasyPrint names some elements' parent only by /P (they are not in the parent's /K):
    # re-point whatever still hangs from a part's Document at the joined one.
    for owner in owners.values():
        for element in _as_list(owner):
            while isinstance(element, Dictionary) and Name.P in element:
                if element.P.objgen in part_documents:
                    element.P = document
                    break
                element = element.P
    for page in out.pages[start:]:
        if Name.StructParents in page.obj:
            page.obj.StructParents = int(page.obj.StructParents) + offset
        for annot in page.obj.get(Name.Annots, []):
            if Name.StructParent in annot:
                annot.StructParent = int(annot.StructParent) + offset
            _rename_link(annot, prefix)
    names = src.Root.get(Name.Names, {}).get(Name.Dests)
    if names is not None:
        for name, dest in pikepdf.NameTree(names).items():
            dests.extend([String(prefix + str(name)), _copy(out, dest)])


def _rename_link(annot: pikepdf.Object, prefix: str) -> None:
    """Point a link at its own part's copy of a named destination."""
    if isinstance(annot.get(Name.Dest), String):
        annot.Dest = String(prefix + str(annot.Dest))
    action = annot.get(Name.A)
    if action is not None and action.get(Name.S) == Name.GoTo and isinstance(
            action.get(Name.D), String):
        action.D = String(prefix + str(action.D))


def _copy(out: pikepdf.Pdf, value: pikepdf.Object) -> pikepdf.Object:
    """A foreign value in out: indirect objects through copy_foreign (which maps each one
    once, so an element reached twice stays one element), direct arrays item by item."""
    if getattr(value, "is_indirect", False):
        return out.copy_foreign(value)
    if isinstance(value, Array):
        return Array([_copy(out, item) for item in value])
    if isinstance(value, Dictionary):
        return Dictionary({key: _copy(out, item) for key, item in value.items()})
    return value


def _as_list(value: pikepdf.Object) -> list:
    return list(value) if isinstance(value, Array) else [value]


def _outline(src: pikepdf.Pdf, first_page: int) -> list[OutlineItem]:
    """The part's bookmarks, pointing at its pages in the joined file."""
    pages = {page.objgen: n for n, page in enumerate(src.pages)}
    named = {}
    names = src.Root.get(Name.Names, {}).get(Name.Dests)
    if names is not None:
        named = {str(k): v for k, v in pikepdf.NameTree(names).items()}

    def convert(item: OutlineItem) -> OutlineItem:
        dest = item.destination
        if isinstance(dest, String):
            dest = named.get(str(dest))
        if dest is None and item.action is not None:
            dest = item.action.get(Name.D)
        page, location = 0, {}
        if isinstance(dest, Array) and len(dest) >= 2:
            page = pages.get(dest[0].objgen, 0)
            if dest[1] == Name.XYZ and len(dest) >= 4:
                location = {"page_location": "XYZ", "left": float(dest[2]),
                            "top": float(dest[3])}
        new = OutlineItem(item.title, first_page + page, **location)
        new.is_closed = item.is_closed
        new.children.extend(convert(child) for child in item.children)
        return new

    with src.open_outline() as outline:
        return [convert(item) for item in outline.root]


def _catalog(out: pikepdf.Pdf, first: pikepdf.Pdf, title: str) -> None:
    """What makes the joined file PDF/UA besides its tags: language, marked content, the
    title shown in the title bar, and the XMP with the PDF/UA identifier."""
    out.Root.Lang = first.Root.get(Name.Lang, String("en"))
    out.Root.MarkInfo = Dictionary(Marked=True)
    out.Root.ViewerPreferences = Dictionary(DisplayDocTitle=True)
    for key, value in first.docinfo.items():
        out.docinfo[key] = value
    out.docinfo[Name.Title] = title
    if Name.Metadata in first.Root:
        out.Root.Metadata = out.copy_foreign(first.Root.Metadata)
    with out.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
        meta["dc:title"] = title


def replace_pages(base: bytes, patches: list[tuple[bytes, int]], cover: bool = False
                  ) -> bytes:
    """`base` with, for each (patch, start), its pages from `start` (0-based) replaced by
    the patch's, tags and all; with `cover`, the last patch must be one page.

    Made for composed PDFs (compose.py): a personal cover in place of a shared render's
    first page, a dated calendar in place of its undated pages. WeasyPrint tags each
    page's content in elements of their own, so the replaced pages' elements are whole
    top-level elements of the Document; they, their parent-tree entries and their links
    give way to the patch's, in the same place. The page objects themselves are kept, so
    named destinations and bookmarks still point at the same pages; the outline, /Lang,
    MarkInfo and the XMP (PDF/UA identifier) are base's. Parsed and written once, however
    many patches.
    Raises ValueError if an element goes on across a patch's first or last page.
    """
    out = pikepdf.open(io.BytesIO(base))
    sources = []
    try:
        for number, (patch, start) in enumerate(patches):
            src = pikepdf.open(io.BytesIO(patch))
            sources.append(src)  # open until saved: copied objects may read its streams
            if cover and number == len(patches) - 1 and len(src.pages) != 1:
                raise ValueError(f"a cover must be one page, not {len(src.pages)}")
            _replace(out, src, start)
        return _saved(out)
    finally:
        for src in sources:
            src.close()
        out.close()


def _replace(out: pikepdf.Pdf, src: pikepdf.Pdf, start: int) -> None:
    count = len(src.pages)
    if start < 0 or start + count > len(out.pages):
        raise ValueError("the patch's pages do not fit in the base")
    pages = [out.pages[start + n].obj for n in range(count)]
    replaced = {page.objgen for page in pages}
    root = out.Root.StructTreeRoot
    [document] = _as_list(root.K)
    # Only elements on the replaced pages and their neighbours can reach across an edge:
    # the others' subtrees are not walked (a shared render has thousands of elements).
    near = replaced | {out.pages[n].obj.objgen for n in (start - 1, start + count)
                       if 0 <= n < len(out.pages)}
    before, after, hit = [], [], False
    for kid in _as_list(document.K):
        own = kid.get(Name.Pg) if isinstance(kid, Dictionary) else None
        on = _pages_of(kid) if own is None or own.objgen in near else {own.objgen}
        if on & replaced:
            if on - replaced:
                raise ValueError("an element goes on across a replaced page's edge")
            hit = True
        else:
            (after if hit else before).append(kid)
    tree = dict(NumberTree(root.ParentTree).items())
    for page in pages:
        for annot in page.get(Name.Annots, []):
            tree.pop(int(annot.get(Name.StructParent, -1)), None)
        tree.pop(int(page.get(Name.StructParents, -1)), None)
    _patch(out, src, document, pages, tree, before, after)


def _patch(out: pikepdf.Pdf, src: pikepdf.Pdf, document: pikepdf.Object, pages: list,
           tree: dict, before: list, after: list) -> None:
    """Move src's pages' content into `pages`, and its elements between before and after."""
    src_root = src.Root.StructTreeRoot
    [src_document] = _as_list(src_root.K)
    del src_document[Name.P]
    # The patch's pages go in at the end first, so that the elements copied next point at
    # them; then their content moves into the kept page objects and they go again.
    first_added = len(out.pages)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pikepdf.PageCopyWarning)
        out.pages.extend(src.pages)
    added = [out.pages[first_added + n].obj for n in range(len(pages))]
    offset = max(tree, default=-1) + 1
    owners = []
    for key, value in NumberTree(src_root.ParentTree).items():
        tree[int(key) + offset] = _copy(out, value)
        owners.extend(_as_list(tree[int(key) + offset]))
    copied = out.copy_foreign(src_document)
    patch_kids = _as_list(copied.K)
    for kid in patch_kids:
        kid.P = document
    for owner in owners:  # elements named only by /P (see _copy_part)
        element = owner
        while isinstance(element, Dictionary) and Name.P in element:
            if element.P.objgen == copied.objgen:
                element.P = document
                break
            element = element.P
    for page, new in zip(pages, added, strict=True):
        for key in [k for k in page if k not in (Name.Type, Name.Parent)]:
            del page[key]
        for key, value in new.items():
            if key not in (Name.Type, Name.Parent):
                page[key] = value
        page.StructParents = int(new.StructParents) + offset
        for annot in page.get(Name.Annots, []):
            if Name.StructParent in annot:
                annot.StructParent = int(annot.StructParent) + offset
            if Name.P in annot:
                annot.P = page
    moved = {new.objgen: page for page, new in zip(pages, added, strict=True)}
    seen: set = set()
    for item in [*patch_kids, *owners]:
        _repoint(item, moved, seen)
    for _ in added:
        del out.pages[-1]
    document.K = Array([*before, *patch_kids, *after])
    parent_tree = NumberTree.new(out)
    for key, value in sorted(tree.items()):
        parent_tree[key] = value
    root = out.Root.StructTreeRoot
    root.ParentTree = parent_tree.obj
    root.ParentTreeNextKey = max(tree, default=-1) + 1


def _pages_of(element: pikepdf.Object, found: set | None = None) -> set:
    """The pages (objgen) an element's content lies on, its children's included."""
    found = set() if found is None else found
    if not isinstance(element, Dictionary):
        return found
    if Name.Pg in element:
        found.add(element.Pg.objgen)
    for kid in _as_list(element.get(Name.K, Array())):
        if isinstance(kid, Dictionary) and kid.get(Name.Type) != Name.OBJR:
            _pages_of(kid, found)
        elif isinstance(kid, Dictionary) and Name.Pg in kid:
            found.add(kid.Pg.objgen)
    return found


def _repoint(element: pikepdf.Object, moved: dict, seen: set) -> None:
    """Point /Pg references to a page in `moved` (by objgen) at the page it maps to,
    through an element and its children."""
    if not isinstance(element, Dictionary):
        return
    if element.is_indirect:
        if element.objgen in seen:
            return
        seen.add(element.objgen)
    if Name.Pg in element and element.Pg.objgen in moved:
        element.Pg = moved[element.Pg.objgen]
    for kid in _as_list(element.get(Name.K, Array())):
        _repoint(kid, moved, seen)
