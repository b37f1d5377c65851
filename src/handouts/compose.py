"""Personal PDFs composed from a shared render: only the cover is rendered per person.

Almost nothing in a handout or packet is personal: the name, prescriber and date sit on
the first page. So a personalised PDF is made in two renders:

- the **base**: the whole PDF with a cover page (context.Cover: the first part's masthead,
  blank personal fields and, for a packet, the contents list, then a page break) and no
  personal data at all. It is the same for everyone with the same inputs (kinds, drug,
  paper, profile, clinic, content, templates, start date), so callers cache it by those;
- the **cover**: that first page alone, with the person's details, told the base's page
  count and where each part starts (it cannot count pages it does not hold);

then join.replace_first_page puts the cover in place of the base's first page, keeping
one structure tree, the links, destinations, outline and packet-wide page numbers.
The result has the same text, pages and tags as one render of the same PDF with a cover.

A prescribed dose is printed on the calendar's pages, not the cover, so a PDF with one is
not composable (see `composable`): render it whole.
"""

from __future__ import annotations

import io
from dataclasses import replace

from .build import Builder
from .context import Cover, Part
from .options import Options, Personal


def composable(options: Options) -> bool:
    """True when everything personal in the PDF is on its cover."""
    return not options.schedule.dose


def base_options(options: Options) -> Options:
    """The options of the shared render: the same, without anything personal."""
    return replace(options, personal=Personal())


def render_base(builder: Builder, parts: list[Part], options: Options) -> bytes:
    """The shared render (cover page with blank fields): the same for every person."""
    assert composable(options)
    return builder.render(parts, base_options(options), Cover())[1].data


def compose(builder: Builder, parts: list[Part], options: Options, base: bytes
            ) -> tuple[str, bytes, int]:
    """(title, PDF bytes, pages) for one person: `base` (from render_base, same parts and
    options but the personal ones) with this person's cover as its first page."""
    from .join import replace_first_page

    pages, starts = _layout(base, parts)
    title, cover = builder.render(parts, options, Cover(alone=True, pages=pages,
                                                        starts=starts))
    try:
        return title, replace_first_page(base, cover.data), pages
    except ValueError:
        # The cover did not fit one page (a clinic's long address in large print, say):
        # the same PDF, rendered whole.
        title, whole = builder.render(parts, options, Cover())
        return title, whole.data, whole.pages


def _layout(base: bytes, parts: list[Part]) -> tuple[int, tuple[int, ...]]:
    """The base's page count and each part's first page (from its named destinations:
    each part's <article> is anchored `part-N-slug`)."""
    import pikepdf

    with pikepdf.open(io.BytesIO(base)) as pdf:
        numbers = {page.objgen: n for n, page in enumerate(pdf.pages, 1)}
        names = pdf.Root.get(pikepdf.Name.Names, {}).get(pikepdf.Name.Dests)
        dests = {str(k): v for k, v in pikepdf.NameTree(names).items()} if names else {}
        starts = tuple(numbers[dests[f"part-{n}-{part.slug}"][0].objgen]
                       for n, part in enumerate(parts, 1))
        return len(pdf.pages), starts
