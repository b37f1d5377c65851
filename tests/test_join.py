"""Joined PDFs stay tagged: one structure tree, renumbered parent tree, working links and
an outline, as good for a screen reader as each part was alone."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pikepdf
import pytest
from pikepdf import Name, NumberTree

from conftest import page_texts
from handouts.join import Part, join
from handouts.options import Options


@pytest.fixture(scope="module")
def parts(builder) -> list[bytes]:
    packet = builder.plan(["faq", "questions"])  # two parts: a contents list with links
    return [builder.render(packet, Options())[1].data,
            builder.render(builder.plan(["drug-sheet"], "alectinib"), Options())[1].data]


@pytest.fixture(scope="module")
def joined(parts, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("join") / "joined.pdf"
    path.write_bytes(join([Part(parts[0], "FAQ and questions"), Part(parts[1], "Alectinib")],
                          "Patient handouts"))
    return path


def open_pdf(data: bytes | Path) -> pikepdf.Pdf:
    return pikepdf.open(io.BytesIO(data) if isinstance(data, bytes) else data)


def elements(node, found=None) -> list:
    """Every structure element under node, depth first (marked content and OBJRs are not)."""
    found = [] if found is None else found
    kids = node.get(Name.K)
    for kid in (kids if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []):
        if isinstance(kid, pikepdf.Dictionary) and kid.get(Name.Type) != Name.OBJR and (
                Name.S in kid):
            found.append(kid)
            elements(kid, found)
    return found


def top(element):
    while element.get(Name.Type) != Name.StructTreeRoot:
        element = element.P
    return element


def test_pages_and_text_are_the_parts_in_order(parts, joined, tmp_path):
    expected = []
    for n, data in enumerate(parts):
        (tmp_path / f"{n}.pdf").write_bytes(data)
        expected += page_texts(tmp_path / f"{n}.pdf")
    assert page_texts(joined) == expected


def test_one_structure_tree_holds_every_parts_elements(parts, joined):
    pdf = open_pdf(joined)
    root = pdf.Root.StructTreeRoot
    [document] = list(root.K)
    assert Name.Document == document.S and document.P.objgen == root.objgen
    types = [str(e.S) for e in elements(root)]
    expected = ["/Document"]
    for data in parts:
        part = open_pdf(data)
        expected += [str(e.S) for e in elements(part.Root.StructTreeRoot)][1:]
    assert sorted(types) == sorted(expected) and "/H1" in types and "/Link" in types
    page_ids = {page.objgen for page in pdf.pages}
    assert all(e.Pg.objgen in page_ids for e in elements(root) if Name.Pg in e)
    tree = dict(NumberTree(root.ParentTree).items())
    assert int(root.ParentTreeNextKey) == max(tree) + 1
    keys = set()
    for page in pdf.pages:
        key = int(page.obj.StructParents)
        keys.add(key)
        # Each marked-content owner hangs from this file's one root (WeasyPrint lists a
        # few of them only by /P, not in their parent's /K, so walk up, not down).
        assert all(top(item).objgen == root.objgen for item in tree[key] if item is not None)
        for annot in page.obj.get(Name.Annots, []):
            keys.add(int(annot.StructParent))
            assert Name.Link == tree[int(annot.StructParent)].S
    assert keys == set(tree)  # every key used once: no two parts share a number


def test_links_resolve_within_their_own_part(parts, joined):
    pdf = open_pdf(joined)
    dests = dict(pikepdf.NameTree(pdf.Root.Names.Dests).items())
    first = open_pdf(parts[0])
    first_part_pages = len(first.pages)
    pages = {page.objgen: n for n, page in enumerate(pdf.pages)}
    links = 0
    for n, page in enumerate(pdf.pages):
        for annot in page.obj.get(Name.Annots, []):
            if Name.Dest in annot:
                links += 1
                target = pages[dests[str(annot.Dest)][0].objgen]
                assert (target < first_part_pages) == (n < first_part_pages)
    assert links >= 2


def test_catalog_outline_and_outloud(parts, joined):
    pdf = open_pdf(joined)
    assert str(pdf.Root.Lang) == "en" and pdf.Root.MarkInfo.Marked
    assert pdf.Root.ViewerPreferences.DisplayDocTitle
    meta = pdf.open_metadata()
    assert meta["pdfuaid:part"] == "1" and meta["dc:title"] == "Patient handouts"
    assert str(pdf.docinfo.Title) == "Patient handouts"
    with pdf.open_outline() as outline:
        top = list(outline.root)
        assert [item.title for item in top] == ["FAQ and questions", "Alectinib"]
        first = open_pdf(parts[0])
        with first.open_outline() as own:
            assert [c.title for c in top[0].children] == [i.title for i in own.root]
        assert top[1].destination[0].objgen == pdf.pages[len(first.pages)].objgen
    exe = Path(sys.executable).with_name("outloud")
    done = subprocess.run([str(exe), "--json", "-", "--fail-on", "never", str(joined)],
                          capture_output=True, text=True, check=True)
    [result] = json.loads(done.stdout)["results"]
    assert [f for f in result["findings"] if f["severity"] == "error"] == []
    assert result["verdict"] in ("pass", "review")
