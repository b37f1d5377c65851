"""A cover made by grafting a person's fields onto a template (graft.py) is the cover one
render makes: the same text page by page, the same pixels, tags (one structure tree, the
fields' elements where a render has them, outloud 0 errors), links and outline; the
templates hold no personal data and serve everyone with the same fields size; what
cannot be grafted is composed the usual way."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import pikepdf
import pytest
from pikepdf import Name, NumberTree

from conftest import page_texts, pdf_text, write_clinic
from handouts import graft
from handouts.compose import _layout, render_base
from handouts.context import Cover
from handouts.options import Options, Personal, Schedule, load_clinic, paper, profile

LONG = "Maximiliana Evangelina Wolfeschlegelsteinhausen-Bergerdorff"


def whole_and_grafted(builder, parts, options, base, templates):
    data, made = graft.compose(builder, parts, options, base, templates)
    _, whole = builder.render(parts, options, Cover())
    return data, made, whole.data


def pixels(data: bytes, page: int = 0):
    pdfium = pytest.importorskip("pypdfium2")
    return pdfium.PdfDocument(data)[page].render(scale=3).to_pil().convert("RGB")


def structure(pdf: pikepdf.Pdf) -> list:
    """Every element's type, depth and marked-content count, in tree order, with the page
    of its content (the MCIDs themselves may be numbered differently)."""
    pages = {page.objgen: n for n, page in enumerate(pdf.pages)}
    found = []

    def walk(element, depth):
        kids = element.get(Name.K)
        kids = list(kids) if isinstance(kids, pikepdf.Array) else [] if kids is None else [kids]
        mcids = sum(1 for k in kids if not isinstance(k, pikepdf.Dictionary))
        page = pages.get(element.Pg.objgen) if Name.Pg in element else None
        found.append((str(element.S), depth, mcids, page))
        for kid in kids:
            if isinstance(kid, pikepdf.Dictionary) and kid.get(Name.Type) not in (Name.MCR,
                                                                                  Name.OBJR):
                walk(kid, depth + 1)

    walk(pdf.Root.StructTreeRoot.K[0], 0)
    return found


def assert_same(tmp_path: Path, grafted: bytes, whole: bytes) -> None:
    (tmp_path / "g.pdf").write_bytes(grafted)
    (tmp_path / "w.pdf").write_bytes(whole)
    assert page_texts(tmp_path / "g.pdf") == page_texts(tmp_path / "w.pdf")
    with pikepdf.open(io.BytesIO(grafted)) as a, pikepdf.open(io.BytesIO(whole)) as b:
        assert structure(a) == structure(b)
        assert len(a.pages) == len(b.pages)
        for page_a, page_b in zip(a.pages, b.pages, strict=True):
            assert len(page_a.obj.get(Name.Annots, [])) == len(page_b.obj.get(Name.Annots, []))
        # Every marked-content id on the cover has its element, and only those.
        root = a.Root.StructTreeRoot
        tree = dict(NumberTree(root.ParentTree).items())
        cover = a.pages[0]
        owners = tree[int(cover.obj.StructParents)]
        stream = cover.obj.Contents.read_bytes()
        import re
        ids = [int(m) for m in re.findall(rb"/MCID (\d+)", stream)]
        assert len(ids) == len(set(ids)) and max(ids) < len(owners)
    from PIL import ImageChops

    assert ImageChops.difference(pixels(grafted), pixels(whole)).getbbox() is None


def outloud_errors(path: Path) -> list:
    exe = Path(sys.executable).with_name("outloud")
    done = subprocess.run([str(exe), "--json", "-", "--fail-on", "never", str(path)],
                          capture_output=True, text=True, check=True)
    [result] = json.loads(done.stdout)["results"]
    return [f for f in result["findings"] if f["severity"] == "error"]


@pytest.fixture(scope="module")
def clinic():
    import tempfile

    folder = Path(tempfile.mkdtemp())
    return load_clinic(write_clinic(folder))


def test_a_grafted_drug_sheet_is_the_render_of_it(builder, tmp_path):
    options = Options(personal=Personal("Zebulon Quartzfield", "Dr. Yarrow"))
    parts = builder.plan(["drug-sheet"], "alectinib")
    base = render_base(builder, parts, options)
    grafted, made, whole = whole_and_grafted(builder, parts, options, base, {})
    assert made is not None  # no template yet: made, and handed back to be kept
    assert_same(tmp_path, grafted, whole)
    assert "Prepared for: Zebulon Quartzfield" in page_texts(tmp_path / "g.pdf")[0]
    assert outloud_errors(tmp_path / "g.pdf") == []
    # The template holds no names, and serves the next person of the same fields size.
    (tmp_path / "t.pdf").write_bytes(made.data)
    text = pdf_text(tmp_path / "t.pdf")
    assert "Zebulon" not in text and "Yarrow" not in text and "Prepared for" not in text
    other = replace(options, personal=Personal("Ana Diaz", "Dr. Lee"))
    calls = []
    real = graft.make_template
    graft.make_template = lambda *args: calls.append(args) or real(*args)
    try:
        again, none, whole = whole_and_grafted(builder, parts, other, base,
                                               {made.size: made})
    finally:
        graft.make_template = real
    assert none is None and calls == []
    assert_same(tmp_path, again, whole)


@pytest.mark.parametrize("kinds, drug, paper_name, profile_name, names, start", [
    # A packet: the contents list (with links) on the cover, the clinic's logo and
    # details, a dated calendar and diary.
    (["faq", "drug-sheet", "calendar", "diary", "questions"], "brigatinib", "letter",
     "standard", ("Zebulon Quartzfield", "Dr. Yarrow"), date(2026, 12, 7)),
    # A name long enough to wrap, no prescriber (a write-in line beside it), A4.
    (["drug-sheet"], "lorlatinib", "a4", "standard", (LONG, None), None),
    # Large print: no key points on the cover; the fields are blocks, not inline blocks.
    (["questions"], None, "letter", "large-print", (None, "Dr. Yarrow"), None),
    # A dated calendar alone (the web's personalised calendar): its cover starts wide.
    (["calendar"], "crizotinib", "letter", "standard", ("Ana Diaz", "Dr. Lee"),
     date(2026, 12, 14)),
    (["diary"], "alectinib", "a4", "large-print", ("Ana Diaz", None), date(2026, 12, 14)),
])
def test_grafted_covers_are_their_renders(builder, clinic, tmp_path, kinds, drug,
                                           paper_name, profile_name, names, start):
    options = Options(paper=paper(paper_name), profile=profile(profile_name), clinic=clinic,
                      personal=Personal(*names, date(2026, 12, 1)),
                      schedule=Schedule(start))
    parts = builder.plan(kinds, drug)
    base = render_base(builder, parts, options)
    grafted, made, whole = whole_and_grafted(builder, parts, options, base, {})
    assert made is not None
    assert_same(tmp_path, grafted, whole)
    with pikepdf.open(io.BytesIO(grafted)) as pdf, pikepdf.open(io.BytesIO(whole)) as ref:
        def outline(p):
            with p.open_outline() as tree:
                return [(i.title, len(i.children)) for i in tree.root]
        assert outline(pdf) == outline(ref)
        assert dict(pdf.docinfo).keys() == dict(ref.docinfo).keys()
        assert pdf.open_metadata()["pdfuaid:part"] == "1"
    assert outloud_errors(tmp_path / "g.pdf") == []
    if start:
        assert f"{start:%B} {start.day}, {start.year}" in pdf_text(tmp_path / "g.pdf")
    for name in names:
        if name:
            (tmp_path / "t.pdf").write_bytes(made.data)
            assert name.split()[-1] not in pdf_text(tmp_path / "t.pdf")


def test_fields_of_another_size_get_a_template_of_their_own(builder, tmp_path):
    parts = builder.plan(["drug-sheet"], "ceritinib")
    short = Options(personal=Personal("Ana Diaz", "Dr. Lee"))
    base = render_base(builder, parts, short)
    _, first = graft.compose(builder, parts, short, base, {})
    wrapped = replace(short, personal=Personal(LONG + " " + LONG, "Dr. Lee"))
    grafted, second, whole = whole_and_grafted(builder, parts, wrapped, base,
                                               {first.size: first})
    assert second is not None and second.size[0] > first.size[0]
    assert_same(tmp_path, grafted, whole)


def test_what_cannot_be_grafted_is_composed_the_usual_way(builder, monkeypatch):
    options = Options(personal=Personal("Zebulon Quartzfield", "Dr. Yarrow"))
    parts = builder.plan(["drug-sheet"], "crizotinib")
    base = render_base(builder, parts, options)

    def refuse(*args):
        raise graft.Unsupported("test")

    monkeypatch.setattr(graft, "make_template", refuse)
    from handouts.compose import compose

    data, made = graft.compose(builder, parts, options, base, {})
    assert made is None
    assert data == compose(builder, parts, options, base)[1]
    # Tried once per base, start and fields size: not again for every request.
    calls = []
    monkeypatch.setattr(graft, "make_template", lambda *a: calls.append(a) or refuse())
    graft.compose(builder, parts, options, base, {})
    assert calls == []


def test_a_graft_that_goes_wrong_still_gives_the_pdf_and_logs_no_name(builder, monkeypatch,
                                                                      caplog):
    options = Options(personal=Personal("Zebulon Quartzfield", "Dr. Yarrow"))
    parts = builder.plan(["drug-sheet"], "alectinib")
    base = render_base(builder, parts, options)

    def broken(template, fields):
        raise KeyError("Zebulon Quartzfield")

    monkeypatch.setattr(graft, "graft", broken)
    from handouts.compose import compose

    data, made = graft.compose(builder, parts, options, base, {})
    assert made is None and data == compose(builder, parts, options, base)[1]
    assert "cover graft failed (KeyError)" in caplog.text and "Zebulon" not in caplog.text


def test_the_fields_document_holds_only_the_fields(builder):
    options = Options(personal=Personal("Zebulon Quartzfield", "Dr. Yarrow"))
    parts = builder.plan(["drug-sheet"], "ensartinib")
    base = render_base(builder, parts, options)
    pages, starts = _layout(base, parts)
    fields = graft.render_fields(builder, parts, options,
                                 Cover(alone=True, pages=pages, starts=starts))
    with pikepdf.open(io.BytesIO(fields.data)) as pdf:
        stream = pdf.pages[0].obj.Contents.read_bytes()
    # No page number, running header, masthead or background: text is the fields' only.
    text = " ".join(pdf_text_bytes(fields.data).split())
    assert text == "Prepared for: Zebulon Quartzfield Prescriber: Dr. Yarrow Date:"
    assert stream.count(b" re\n") <= 2  # the date's write-in rule (clip and fill)


def pdf_text_bytes(data: bytes) -> str:
    from pypdf import PdfReader

    return " ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)
