"""Personal PDFs composed from a shared render: only the cover is rendered per person.

Almost nothing in a handout or packet is personal: the name, prescriber and date sit on
the first page, and a start date changes only the calendar and diary. So a personalised
PDF is made from:

- the **base**: the whole PDF with a cover page (context.Cover: the first part's masthead,
  blank personal fields and the contents list (a packet) or the key points (a single
  handout in standard print), then a page break), no
  personal data and no start date. It is the same for everyone with the same inputs
  (kinds, drug, paper, profile, clinic, content, templates), so callers cache it by those;
- given a start date, each calendar's or diary's pages that show it, again, dated, alone
  but numbered as in the whole PDF (they replace the undated pages when they take as
  many; else the whole calendar or diary is rendered again in the undated one's place);
- the **cover**: that first page alone, with the person's details, told the base's page
  count and where each part starts (it cannot count pages it does not hold);

then join.replace_pages puts them in place of the base's pages, keeping one structure
tree, the links, destinations, outline and packet-wide page numbers.
The result has the same text, pages and tags as one render of the same PDF with a cover.

A prescribed dose is printed on the calendar's pages, not the cover, so a PDF with one is
not composable (see `composable`): render it whole.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from dataclasses import asdict, replace

from .build import Builder
from .context import Cover, Part
from .options import Options, Personal
from .partcache import MemoryCache, PartCache


def composable(options: Options) -> bool:
    """True when everything personal in the PDF is on its cover."""
    return not options.schedule.dose


def base_options(options: Options) -> Options:
    """The options of the shared render: the same, without anything personal, and
    undated (a calendar's or diary's dates are rendered per start date, see compose)."""
    return replace(options, personal=Personal(),
                   schedule=replace(options.schedule, start=None))


def render_base(builder: Builder, parts: list[Part], options: Options,
                cache: PartCache | None = None, salt: str = "") -> bytes:
    """The shared render (cover page with blank fields, undated calendars and diaries):
    the same for everyone with the same parts and (base_)options.

    A packet's is joined from its parts rendered alone and unnumbered, each kept in `cache`
    under a key of its own inputs (part_key; `salt` is whatever else the caller's cache
    must tell apart, such as the templates), so that the FAQ and the questions are
    rendered once for packets of every drug; its cover is rendered for it, and the page
    numbers are stamped on (stamp.py). The result reads, links and is tagged like one
    render of the packet. A single handout is one render: there is nothing to share.
    """
    assert composable(options)
    options = base_options(options)
    if len(parts) > 1:
        try:
            joined = _joined(builder, parts, options, cache or MemoryCache(), salt)
        except ValueError:
            # A stamp sheet that does not match the parts' pages, or an element reaching
            # across the cover's edge (join.replace_pages): the same PDF, rendered whole.
            joined = None
        if joined is not None:
            return joined[1]
    return builder.render(parts, options, Cover())[1].data


def part_key(builder: Builder, part: Part, cover: Cover, options: Options, salt: str
             ) -> str:
    """The cache key of a part rendered alone as `cover` (a Cover with `part`) says: its
    content files' hashes, the options it shows (a calendar's weeks, but no start date:
    it is undated) and the caller's salt; not the packet's other parts or length."""
    from .context import content_files

    library = builder.library_for(options.lang)
    weeks = options.schedule.weeks if part.kind.dated else None
    inputs = [salt, cover.part, cover.tall, part.slug, options.paper.name,
              options.profile.name, options.lang, weeks,
              asdict(options.clinic) if options.clinic else None,
              {f.origin.shown: f.origin.sha256 for f in content_files([part], library)}]
    return _sha256(inputs)


def _joined(builder: Builder, parts: list[Part], options: Options, cache: PartCache,
            salt: str, cover_options: Options | None = None
            ) -> tuple[str, bytes, int] | None:
    """(title, PDF, pages) of the packet joined from its parts; None when its cover does
    not fit one page (the caller renders it whole, as compose would have to).

    `options` hold nothing personal. Given a start date, the dated parts are rendered
    with it for this PDF alone, never kept: only the undated parts are shared. The cover
    is rendered with `cover_options` (default: `options`), a person's."""
    import pikepdf

    from .join import assemble
    from .stamp import page_names, render_sheet, sheet_key

    assert options.personal == Personal()
    # After a landscape first part, the portrait parts are on the named page "tall".
    covers = [Cover(part=number, tall=parts[0].kind.dated and not part.kind.dated)
              for number, part in enumerate(parts, 1)]
    shared, own, order = {}, {}, []
    for part, cover in zip(parts, covers, strict=True):
        key = part_key(builder, part, cover, options, salt)

        def make(part: Part = part, cover: Cover = cover) -> bytes:
            return builder.render([part], options, cover)[1].data

        if part.kind.dated and options.schedule.start:
            key = f"dated-{key}"
            own[key] = make
        else:
            shared[key] = make
        order.append(key)
    found = cache.fetch(shared) | {key: make() for key, make in own.items()}
    renders = [found[key] for key in order]
    names: list[str] = []
    starts = []
    for data in renders:
        starts.append(len(names) + 1)
        with pikepdf.open(io.BytesIO(data)) as pdf:
            names.extend(page_names(pdf))
    title, cover = builder.render(parts, cover_options or options, Cover(
        alone=True, pages=len(names), starts=tuple(starts)))
    if cover.pages != 1:
        return None
    key = _sha256([salt, *sheet_key(options, tuple(names))])
    stamps = cache.fetch({key: lambda: render_sheet(builder, options, tuple(names))})[key]
    return title, assemble(cover.data, renders, stamps), len(names)


def _sha256(inputs: list) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()
                          ).hexdigest()


def compose(builder: Builder, parts: list[Part], options: Options, base: bytes,
            cache: PartCache | None = None, salt: str = "") -> tuple[str, bytes, int]:
    """(title, PDF bytes, pages) for one person: `base` (from render_base with the same
    parts and options) with this person's cover as its first page and, given a start
    date, the dated calendar's and diary's pages that show it in place of the undated
    ones (or, when those do not line up, the whole dated parts). When a dated part does
    not take the same pages as its undated self (a dated grid a row taller, say), a
    packet is joined again from its parts (the undated ones from `cache`, as render_base
    keeps them; `salt` as there) with the dated parts and the person's cover; a single
    handout is rendered whole."""
    from .join import replace_pages

    pages, starts = _layout(base, parts)
    try:
        # The cover first: when it does not fit one page, nothing else is worth rendering.
        title, cover = builder.render(parts, options, Cover(alone=True, pages=pages,
                                                            starts=starts))
        if cover.pages != 1:
            raise ValueError(f"a cover must be one page, not {cover.pages}")
        if _blank_cover_pages(builder, parts, options, base, pages, starts) != 1:
            # With blank fields (write-in lines are taller than names) the base's cover
            # took two pages: this person's one-page cover in place of its first would
            # leave the second behind.
            raise ValueError("the shared render's cover is not one page")
        composed = None
        if options.schedule.start:
            try:
                # Only the pages that show the date; the rest are the base's.
                composed = replace_pages(base, [*_dated_pages(builder, parts, options, base,
                                                              pages), (cover.data, 0)],
                                         cover=True)
            except ValueError:
                # Its dated pages are not as many, or not where, as the undated ones. A
                # packet is joined again from its parts (below): the dated parts whole in
                # place of the undated ones would mostly not line up either (a dated grid
                # a row taller). A lone calendar or diary: the dated part whole, if it fits.
                if len(parts) > 1:
                    raise
                composed = replace_pages(base, [*_dated_segments(builder, parts, options,
                                                                 base, pages, starts),
                                                (cover.data, 0)], cover=True)
        return title, composed or replace_pages(base, [(cover.data, 0)], cover=True), pages
    except ValueError:
        # The cover did not fit one page (a clinic's long address in large print, say),
        # or a dated part's pages differ from its undated self's.
        return _recomposed(builder, parts, options, cache, salt)


def _recomposed(builder: Builder, parts: list[Part], options: Options,
                cache: PartCache | None = None, salt: str = "") -> tuple[str, bytes, int]:
    """compose's (title, PDF, pages) when the base cannot serve this person: a dated
    packet joined again from its parts (the undated ones from `cache`), else one whole
    render. graft.compose_packet comes here at once when a packet's dated pages do not
    line up, without the cover and dated pages compose would render first."""
    if len(parts) > 1 and options.schedule.start:
        with contextlib.suppress(ValueError):
            joined = _joined(builder, parts, replace(options, personal=Personal()),
                             cache or MemoryCache(), salt, cover_options=options)
            if joined is not None:
                return joined
    title, whole = builder.render(parts, options, Cover())
    return title, whole.data, whole.pages


_BLANK_COVERS: dict[str, int] = {}  # a base's sha256: its blank cover's page count


def _blank_cover_pages(builder: Builder, parts: list[Part], options: Options, base: bytes,
                       pages: int, starts: tuple[int, ...]) -> int:
    """How many pages the base's cover takes. One when the base was joined from parts
    (_joined renders its cover alone and keeps it only when it is one page); else its
    blank cover rendered alone, once per base and process (about 50 ms)."""
    import pikepdf

    from .stamp import stamped

    key = hashlib.sha256(base).hexdigest()
    if key not in _BLANK_COVERS:
        with pikepdf.open(io.BytesIO(base)) as pdf:
            joined = stamped(pdf)
        if len(_BLANK_COVERS) >= 256:
            _BLANK_COVERS.clear()
        _BLANK_COVERS[key] = 1 if joined else builder.render(
            parts, base_options(options), Cover(alone=True, pages=pages, starts=starts)
        )[1].pages
    return _BLANK_COVERS[key]


def _dated_pages(builder: Builder, parts: list[Part], options: Options, base: bytes,
                 pages: int) -> list[tuple[bytes, int]]:
    """(patch, 0-based start) for each dated part: its pages that show the start date
    (Cover.dated_only: a calendar's grid, with its missed-dose box when that shares the
    grid's last page; a diary's week tables), rendered alone and numbered as in the base.
    They must be as many as the base's from the first mark (_marks) to the part's first
    undated page, and each named destination on them on the same page as in the base;
    else ValueError. (A dated grid has the rows, and the header's height, of its undated
    self: see grids._weeks and handout.css.)

    One render per part, numbered from its own first page: one render of both would
    have to jump its page numbers between them (page groups), and was measured no
    faster (a letter calendar's and diary's dated pages: 240 ms in one, 249 in two)."""
    patches = []
    _, in_base = _destinations(base)
    for number, part in enumerate(parts, 1):
        if not part.kind.dated:
            continue
        marks, stop, only = _marks(part, number, options, in_base)
        at = _at(in_base, [*marks, stop])
        first = at[0]
        # The base's first undated page must hold no dated content (the calendar's call
        # box does not share the missed-dose box's page). Then the dated one's does not
        # either: the dated pages are laid out as the undated ones.
        if at[-1] == at[-2]:
            raise ValueError(f"{part.slug}'s first undated page has dated content")
        dated = builder.render(parts, options, Cover(
            pages=pages, segment=(number - 1, number), first_page=first, dated_only=only))[1]
        if (dated.pages != at[-1] - first
                # Its own anchor is on its masthead's page, which the patch does not hold.
                or not _lines_up(dated.data, in_base, first, f"part-{number}-{part.slug}")):
            raise ValueError(f"{part.slug}'s dated pages do not line up with the base's")
        patches.append((dated.data, first - 1))
    return patches


def _marks(part: Part, number: int, options: Options, in_base: dict[str, int]
           ) -> tuple[list[str], str, bool | str]:
    """The named destinations on a dated part's dated pages in the base (`in_base`: its
    destinations' pages, _destinations), first one first;
    the one that starts its first undated page; and what Cover.dated_only must render.

    A calendar: its grid, and the missed-dose box when it is on the grid's last page (the
    call box must then start a page of its own), else the grid alone ("grid"; the box
    then starts the first undated page). A diary: its week tables (its end matter starts
    a page of its own, handout.css)."""
    anchor = f"part-{number}-{part.slug}"
    if part.kind.name == "calendar":
        grid = [f"{anchor}-grid", f"{anchor}-grid-end"]
        end, missed = _at(in_base, [grid[1], f"{anchor}-missed"])
        if missed > end:
            return grid, f"{anchor}-missed", "grid"
        return [*grid, f"{anchor}-missed"], f"{anchor}-call", True
    weeks = options.schedule.weeks or part.kind.default_weeks  # a table each (grids.py)
    return ([f"{anchor}-week-{week}" for week in range(1, weeks + 1)], f"{anchor}-sources",
            True)


def _dated_segments(builder: Builder, parts: list[Part], options: Options, base: bytes,
                    pages: int, starts: tuple[int, ...]) -> list[tuple[bytes, int]]:
    """(patch, 0-based start) for each run of side-by-side dated parts, rendered whole
    as numbered in the base; ValueError if one takes other pages than its undated self,
    or has a heading or anchor on another page (the base's outline would point amiss)."""
    patches = []
    _, in_base = _destinations(base)
    for first, stop in _dated_runs(parts):
        # Side by side (a calendar, then a diary), dated parts are one render: a
        # WeasyPrint document's fixed cost is about a third of a 4-page calendar's.
        segment = Cover(pages=pages, segment=(first, stop), first_page=starts[first])
        dated = builder.render(parts, options, segment)[1]
        end = starts[stop] if stop < len(parts) else pages + 1
        if dated.pages != end - starts[first] or not _lines_up(dated.data, in_base,
                                                                starts[first]):
            raise ValueError("a dated part takes other pages than its undated self")
        patches.append((dated.data, starts[first] - 1))
    return patches


def _dated_runs(parts: list[Part]) -> list[tuple[int, int]]:
    """(first, stop) of each run of side-by-side dated parts."""
    runs: list[tuple[int, int]] = []
    for number, part in enumerate(parts):
        if part.kind.dated:
            if runs and runs[-1][1] == number:
                runs[-1] = (runs[-1][0], number + 1)
            else:
                runs.append((number, number + 1))
    return runs


def _layout(pdf_data: bytes, parts: list[Part], skip: int = 0
            ) -> tuple[int, tuple[int, ...]]:
    """A PDF's page count and each part's first page in it, from their named
    destinations (each part's <article> is anchored `part-N-slug`, N counting from 1 in
    the whole PDF: `skip` parts come before these)."""
    return _pages_at(pdf_data, [f"part-{n}-{part.slug}"
                                for n, part in enumerate(parts, skip + 1)])


def _lines_up(patch: bytes, in_base: dict[str, int], first: int, skip: str = "") -> bool:
    """Whether each of the patch's named destinations (its parts' headings, tables and
    anchors) is on the page it will replace, the base's `first` on (`in_base`: the base's
    destinations, _destinations): the base keeps its own destinations and outline, which
    must then still be right. `skip` is one not to check."""
    _, in_patch = _destinations(patch)
    names = [name for name in in_patch if name != skip]
    try:
        return _at(in_base, names) == tuple(in_patch[name] + first - 1 for name in names)
    except ValueError:  # the base has no such destination
        return False


def _pages_at(pdf_data: bytes, names: list[str]) -> tuple[int, tuple[int, ...]]:
    """A PDF's page count and the page (from 1) of each named destination; ValueError
    when one is missing."""
    count, pages = _destinations(pdf_data)
    return count, _at(pages, names)


def _destinations(pdf_data: bytes) -> tuple[int, dict[str, int]]:
    """A PDF's page count and the page (from 1) of each of its named destinations: read
    once per PDF, then looked up (_at)."""
    import pikepdf

    with pikepdf.open(io.BytesIO(pdf_data)) as pdf:
        numbers = {page.objgen: n for n, page in enumerate(pdf.pages, 1)}
        tree = pdf.Root.get(pikepdf.Name.Names, {}).get(pikepdf.Name.Dests)
        found = pikepdf.NameTree(tree).items() if tree else []
        return len(pdf.pages), {str(name): numbers[dest[0].objgen] for name, dest in found
                                if dest[0].objgen in numbers}


def _at(pages: dict[str, int], names: list[str]) -> tuple[int, ...]:
    """The pages of these destinations (from _destinations); ValueError when one is
    missing."""
    try:
        return tuple(pages[name] for name in names)
    except KeyError as missing:
        raise ValueError(f"no destination {missing} in the PDF") from None
