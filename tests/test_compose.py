"""Personal PDFs composed from a shared render are as good as one render of the same PDF:
same pages and text, one structure tree, outline, working links, PDF/UA; and the shared
renders hold no names and are invalidated by exactly the content they use."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pikepdf
import pytest
from pikepdf import Name, NumberTree

from conftest import page_texts, pdf_text, write_clinic
from handouts.build import Builder
from handouts.compose import compose, render_base
from handouts.context import Cover
from handouts.options import Options, Personal, Schedule, load_clinic
from handouts.pack import CACHE, Planner, base_key, load_pack, run_pack

PACKET = ["faq", "drug-sheet", "calendar", "diary", "questions"]


@pytest.fixture(scope="module")
def options(tmp_path_factory) -> Options:
    clinic = load_clinic(write_clinic(tmp_path_factory.mktemp("clinic")))
    return Options(clinic=clinic, personal=Personal("Zebulon Quartzfield", "Dr. Yarrow",
                                                    date(2026, 12, 1)),
                   schedule=Schedule(date(2026, 12, 7)))


@pytest.fixture(scope="module")
def pdfs(builder, options, tmp_path_factory) -> dict[str, Path]:
    """The same patient packet composed (shared render + cover) and rendered whole."""
    out = tmp_path_factory.mktemp("compose")
    parts = builder.plan(PACKET, "brigatinib")
    base = render_base(builder, parts, options)
    renders = []
    real = builder.render
    builder.render = lambda *args: renders.append(args[2]) or real(*args)
    try:
        _, composed, pages = compose(builder, parts, options, base)
    finally:
        del builder.render
    # The cover, then the dated calendar and diary in one render (they are side by
    # side); not the whole packet again.
    assert [(c.segment, c.alone) for c in renders] == [(None, True), ((2, 4), False)]
    _, whole = builder.render(parts, options, Cover())
    assert pages == whole.pages
    (out / "base.pdf").write_bytes(base)
    (out / "composed.pdf").write_bytes(composed)
    (out / "whole.pdf").write_bytes(whole.data)
    return {name: out / f"{name}.pdf" for name in ("base", "composed", "whole")}


def links(pdf: pikepdf.Pdf) -> list[tuple[int, int]]:
    """(page of the link, page it goes to) for every internal link."""
    dests = dict(pikepdf.NameTree(pdf.Root.Names.Dests).items())
    pages = {page.objgen: n for n, page in enumerate(pdf.pages)}
    found = []
    for n, page in enumerate(pdf.pages):
        for annot in page.obj.get(Name.Annots, []):
            if Name.Dest in annot:
                found.append((n, pages[dests[str(annot.Dest)][0].objgen]))
    return found


def outline(pdf: pikepdf.Pdf) -> list:
    pages = {page.objgen: n for n, page in enumerate(pdf.pages)}
    with pdf.open_outline() as tree:
        def walk(items):
            return [(i.title, pages.get(i.destination[0].objgen) if i.destination else None,
                     walk(i.children)) for i in items]
        return walk(tree.root)


def test_a_composed_packet_reads_like_one_render_of_it(pdfs):
    composed, whole = page_texts(pdfs["composed"]), page_texts(pdfs["whole"])
    assert composed == whole
    assert "Prepared for: Zebulon Quartzfield" in composed[0]
    assert f"Page 1 of {len(whole)}" in composed[0] and "(Stage IV FAQ) — page 1 " in composed[0]
    with pikepdf.open(pdfs["composed"]) as a, pikepdf.open(pdfs["whole"]) as b:
        assert links(a) == links(b) and len(links(a)) >= len(PACKET)
        assert outline(a) == outline(b)


def test_a_composed_packet_has_one_structure_tree_and_is_pdf_ua(pdfs):
    with pikepdf.open(pdfs["composed"]) as pdf, pikepdf.open(pdfs["whole"]) as whole:
        root = pdf.Root.StructTreeRoot
        [document] = list(root.K)
        assert Name.Document == document.S
        kids = list(document.K)
        assert [str(k.S) for k in kids] == [str(k.S) for k in whole.Root.StructTreeRoot.K[0].K]
        page_ids = {page.objgen: n for n, page in enumerate(pdf.pages)}
        assert [page_ids[k.Pg.objgen] for k in kids if Name.Pg in k] == sorted(
            page_ids[k.Pg.objgen] for k in kids if Name.Pg in k)
        tree = dict(NumberTree(root.ParentTree).items())
        keys = set()
        for page in pdf.pages:
            keys.add(int(page.obj.StructParents))
            for annot in page.obj.get(Name.Annots, []):
                keys.add(int(annot.StructParent))
                assert Name.Link == tree[int(annot.StructParent)].S
        assert keys == set(tree) and int(root.ParentTreeNextKey) == max(tree) + 1
        assert str(pdf.Root.Lang) == "en" and pdf.Root.MarkInfo.Marked
        assert pdf.Root.ViewerPreferences.DisplayDocTitle
        assert pdf.open_metadata()["pdfuaid:part"] == "1"
    exe = Path(sys.executable).with_name("outloud")
    done = subprocess.run([str(exe), "--json", "-", "--fail-on", "never",
                           str(pdfs["composed"])], capture_output=True, text=True, check=True)
    [result] = json.loads(done.stdout)["results"]
    assert [f for f in result["findings"] if f["severity"] == "error"] == []
    assert result["verdict"] in ("pass", "review")


def test_the_shared_render_holds_no_personal_data(pdfs):
    text = pdf_text(pdfs["base"])
    assert "Zebulon" not in text and "Yarrow" not in text and "December 1, 2026" not in text
    assert "Prepared for:" in text  # a write-in line instead
    assert "December 7, 2026" not in text  # undated: shared whatever the start date
    assert "December 7, 2026" in pdf_text(pdfs["composed"])


@pytest.mark.parametrize("kind, drug", [("drug-sheet", "ceritinib"), ("questions", None)])
def test_a_single_handouts_cover_keeps_its_key_points_or_masthead(builder, options, kind,
                                                                   drug, tmp_path):
    parts = builder.plan([kind], drug)
    _, composed, _ = compose(builder, parts, options, render_base(builder, parts, options))
    (tmp_path / "c.pdf").write_bytes(composed)
    first = page_texts(tmp_path / "c.pdf")[0]
    assert "Zebulon Quartzfield" in first
    assert ("Key points" in first) == (kind == "drug-sheet")


def test_a_patient_pack_shares_renders_and_never_names_them(tmp_path):
    (tmp_path / "patients.csv").write_text(
        "name,drug,prescriber,date\nZebulon Quartzfield,alectinib,Dr. Yarrow,2026-12-01\n"
        "Ana Diaz,alectinib,,\nBo Chen,lorlatinib,,\n")
    (tmp_path / "pack.yaml").write_text("packet: [drug-sheet, questions]\n"
                                        "patients: patients.csv\n")
    builder = Builder()
    out = tmp_path / "out"
    result = run_pack(load_pack(tmp_path / "pack.yaml", builder), out, workers=1)
    assert result.built == 3
    # Alectinib's two packets share one render; lorlatinib's one packet, alone in
    # needing its render, is rendered whole (the same PDF, without a join).
    [shared] = (out / CACHE).glob("*.pdf")
    for path in [shared, *out.glob("*.pdf")]:
        assert "Prepared for:" in page_texts(path)[0]
    for name in ("Zebulon", "Yarrow", "Ana", "Diaz", "Bo Chen"):
        assert name not in shared.name and name not in pdf_text(shared)
    assert "Prepared for: Zebulon Quartzfield" in pdf_text(out / "packet-zebulon-quartzfield.pdf")
    # --force renders the shared render again too, and one that is not a whole PDF is
    # rendered again rather than trusted.
    shared.write_bytes(b"not a PDF")
    run_pack(load_pack(tmp_path / "pack.yaml", builder), out, workers=1, force=True)
    assert shared.read_bytes().rstrip().endswith(b"%%EOF")
    shared.write_bytes(b"not a PDF")
    (out / "packet-ana-diaz.pdf").unlink()
    assert run_pack(load_pack(tmp_path / "pack.yaml", builder), out, workers=1).built == 1
    assert shared.read_bytes().rstrip().endswith(b"%%EOF")
    assert "Prepared for: Ana Diaz" in pdf_text(out / "packet-ana-diaz.pdf")


def test_patients_on_one_drug_share_a_render_whatever_their_start_dates(tmp_path):
    (tmp_path / "patients.csv").write_text(
        "name,drug,start\nAna Diaz,alectinib,2026-12-07\nBo Chen,alectinib,\n")
    (tmp_path / "pack.yaml").write_text("packet: [drug-sheet, calendar]\n"
                                        "patients: patients.csv\n")
    out = tmp_path / "out"
    assert run_pack(load_pack(tmp_path / "pack.yaml", Builder()), out, workers=1).built == 2
    [shared] = (out / CACHE).glob("*.pdf")
    assert "December 7, 2026" not in pdf_text(shared)
    dated, undated = pdf_text(out / "packet-ana-diaz.pdf"), pdf_text(out / "packet-bo-chen.pdf")
    assert "The calendar starts on December 7, 2026" in dated and "Ana Diaz" in dated
    assert "December 7" not in undated and "Bo Chen" in undated


def test_clinic_days_in_their_own_folders_share_one_cache(tmp_path):
    """--cache: a later day's packs reuse the shared renders of earlier days, even for a
    drug only one patient needs that day; renders unused for CACHE_DAYS go, others stay."""
    import os
    import time

    from handouts.pack import CACHE_DAYS

    (tmp_path / "day1.csv").write_text("name,drug\nAna Diaz,alectinib\nBo Chen,alectinib\n")
    (tmp_path / "day2.csv").write_text("name,drug,start\nCy Obi,alectinib,2026-12-14\n")
    for day in ("day1", "day2"):
        (tmp_path / f"{day}.yaml").write_text("packet: [drug-sheet, calendar]\n"
                                              f"patients: {day}.csv\n")
    cache = tmp_path / "cache"
    builder = Builder()
    run_pack(load_pack(tmp_path / "day1.yaml", builder), tmp_path / "d1", workers=1,
             cache_dir=cache)
    [shared] = cache.glob("*.pdf")
    assert not (tmp_path / "d1" / CACHE).exists()
    made = shared.read_bytes()
    week_ago = time.time() - 7 * 86400
    os.utime(shared, (week_ago, week_ago))
    old, recent = cache / f"{'a' * 64}.pdf", cache / f"{'b' * 64}.pdf"
    for path, days in ((old, CACHE_DAYS + 1), (recent, CACHE_DAYS - 1)):
        path.write_bytes(made)
        then = time.time() - days * 86400
        os.utime(path, (then, then))

    result = run_pack(load_pack(tmp_path / "day2.yaml", builder), tmp_path / "d2",
                      workers=1, cache_dir=cache)
    assert result.built == 1
    # Day 2 composed its one packet from day 1's render (used now, so kept the longest).
    assert shared.read_bytes() == made and shared.stat().st_mtime > time.time() - 600
    text = pdf_text(tmp_path / "d2" / "packet-cy-obi.pdf")
    assert "Cy Obi" in text and "The calendar starts on December 14, 2026" in text
    assert "Ana Diaz" not in text and not old.exists() and recent.exists()


def test_a_content_change_invalidates_exactly_the_shared_renders_that_use_it(
        tmp_path, content_copy):
    (tmp_path / "patients.csv").write_text(
        "name,drug\nAna,alectinib\nBo,lorlatinib\nCy,brigatinib\n")
    (tmp_path / "pack.yaml").write_text("packet: [drug-sheet, questions]\n"
                                        "patients: patients.csv\n")

    def keys() -> dict[str, str]:
        builder = Builder(content_copy)
        planner = Planner(builder)
        pack = load_pack(tmp_path / "pack.yaml", builder)
        return {job.drug: base_key(planner.inputs(job)) for job in pack.jobs}

    before = keys()
    drug_file = content_copy / "drugs" / "lorlatinib.yaml"
    drug_file.write_text(drug_file.read_text() + "\n# edited\n")
    after = keys()
    assert {drug for drug in before if before[drug] != after[drug]} == {"lorlatinib"}


def test_the_web_composes_a_personalised_download_from_its_shared_render(tmp_path):
    from handouts.web.app import create_app

    app = create_app(None, in_process=True, workers=1)
    try:
        client = app.test_client()
        form = {"kind": "drug-sheet", "drug": "lorlatinib", "patient": "Zebulon Quartzfield"}
        first = client.post("/personalised", data=form)
        second = client.post("/personalised", data=form | {"patient": "Ana Diaz"})
        assert first.status_code == second.status_code == 200
        (tmp_path / "a.pdf").write_bytes(first.data)
        (tmp_path / "b.pdf").write_bytes(second.data)
        a, b = page_texts(tmp_path / "a.pdf"), page_texts(tmp_path / "b.pdf")
        assert "Zebulon Quartzfield" in a[0] and "Ana Diaz" in b[0]
        assert a[1:] == b[1:]  # the shared pages
        with pikepdf.open(io.BytesIO(first.data)) as pdf:
            assert len(list(pdf.Root.StructTreeRoot.K)) == 1
        calendar = client.post("/personalised", data={
            "kind": "calendar", "drug": "lorlatinib", "start": "2026-12-07",
            "patient": "Ana Diaz"})
        (tmp_path / "c.pdf").write_bytes(calendar.data)
        text = pdf_text(tmp_path / "c.pdf")
        assert "Ana Diaz" in text and "The calendar starts on December 7, 2026" in text
    finally:
        app.extensions["handouts"].close()
