"""Personal PDFs composed from a shared render are as good as one render of the same PDF:
same pages and text, one structure tree, outline, working links, PDF/UA; and the shared
renders hold no names and are invalidated by exactly the content they use."""

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
from handouts.build import Builder
from handouts.compose import base_options, compose, part_key, render_base
from handouts.context import Cover
from handouts.options import Options, Personal, Schedule, load_clinic
from handouts.pack import CACHE, PARTS, Planner, base_key, load_pack, run_pack
from handouts.partcache import MemoryCache

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
    # The cover, then only the pages that show the start date: the calendar's first two
    # (its guide, its grid) and the diary's two week tables; not the whole packet again.
    assert [(c.segment, c.alone, c.dated_only) for c in renders] == [
        (None, True, False), ((2, 3), False, True), ((3, 4), False, True)]
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
    # Joined from several renders, each with its own font subsets, it is bigger than one
    # render (about 1.5x: 270 KB for 41 pages), but not 4x: the structure elements go
    # into compressed object streams, as in WeasyPrint's own file.
    assert pdfs["composed"].stat().st_size < 1.8 * pdfs["whole"].stat().st_size


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
    # Its parts (drug sheet, questions, and a stamp sheet of page numbers) are kept too.
    kept = list((out / CACHE / PARTS).glob("*.pdf"))
    assert len(kept) == 3
    for name in ("Zebulon", "Yarrow", "Ana", "Diaz", "Bo Chen"):
        for path in [shared, *kept]:
            assert name not in path.name and name not in pdf_text(path)
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
    assert "calendar, December 7, 2026 to" in dated and "Ana Diaz" in dated
    assert "December 7" not in undated and "Bo Chen" in undated


def last_used(path: Path, days_ago: float) -> None:
    """Set a cached file's time of last use (its mtime: see FolderCache.prune)."""
    import os
    import time

    then = time.time() - days_ago * 86400
    os.utime(path, (then, then))


def test_clinic_days_in_their_own_folders_share_one_cache(tmp_path):
    """--cache: a later day's packs reuse the shared renders of earlier days, even for a
    drug only one patient needs that day; renders unused for CACHE_DAYS go, others stay."""
    import time

    from handouts.pack import CACHE_DAYS

    # Day 1's lone lorlatinib packet is composed too: the cache is for days to come.
    (tmp_path / "day1.csv").write_text(
        "name,drug\nAna Diaz,alectinib\nBo Chen,alectinib\nDee Ray,lorlatinib\n")
    (tmp_path / "day2.csv").write_text("name,drug,start\nCy Obi,alectinib,2026-12-14\n")
    for day in ("day1", "day2"):
        (tmp_path / f"{day}.yaml").write_text("packet: [drug-sheet, calendar]\n"
                                              f"patients: {day}.csv\n")
    cache = tmp_path / "cache"
    builder = Builder()
    run_pack(load_pack(tmp_path / "day1.yaml", builder), tmp_path / "d1", workers=1,
             cache_dir=cache)
    assert len(list(cache.glob("*.pdf"))) == 2 and not (tmp_path / "d1" / CACHE).exists()
    [shared] = [path for path in cache.glob("*.pdf") if "Alectinib" in pdf_text(path)]
    made = shared.read_bytes()
    last_used(shared, days_ago=7)
    old, recent = cache / f"{'a' * 64}.pdf", cache / f"{'b' * 64}.pdf"
    theirs = cache / "clinic-notes.pdf"  # not ours to remove, however old
    for path, days in ((old, CACHE_DAYS + 1), (recent, CACHE_DAYS - 1),
                       (theirs, CACHE_DAYS + 1)):
        path.write_bytes(made)
        last_used(path, days_ago=days)

    result = run_pack(load_pack(tmp_path / "day2.yaml", builder), tmp_path / "d2",
                      workers=1, cache_dir=cache)
    assert result.built == 1
    # Day 2 composed its one packet from day 1's render (used now, so kept the longest).
    assert shared.read_bytes() == made and shared.stat().st_mtime > time.time() - 600
    text = pdf_text(tmp_path / "d2" / "packet-cy-obi.pdf")
    assert "Cy Obi" in text and "calendar, December 14, 2026 to" in text
    assert "Ana Diaz" not in text and not old.exists() and recent.exists()
    assert theirs.exists()


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
        assert "Ana Diaz" in text and "calendar, December 7, 2026 to" in text
    finally:
        app.extensions["handouts"].close()


def footers(path: Path) -> list[tuple]:
    """Every page's "Page X of Y" as drawn: text, place, font, size and colour."""
    import pdfplumber

    found = []
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            words = page.extract_words(extra_attrs=["fontname", "size", "non_stroking_color"])
            tail = [w for w in words if w["top"] > page.height * 0.85 and w["size"] >= 10]
            found.append([(w["text"], round(w["x0"], 2), round(w["top"], 2), w["fontname"],
                           round(w["size"], 2), w["non_stroking_color"]) for w in tail])
    return found


def test_a_shared_render_joined_from_parts_is_one_render_of_the_packet(
        builder, options, pdfs, tmp_path):
    parts = builder.plan(PACKET, "brigatinib")
    _, whole = builder.render(parts, base_options(options), Cover())
    (tmp_path / "whole.pdf").write_bytes(whole.data)
    joined, single = page_texts(pdfs["base"]), page_texts(tmp_path / "whole.pdf")
    assert joined == single
    assert all(f"Page {n} of {len(single)}" in text for n, text in enumerate(joined, 1))
    # The stamped numbers look exactly like WeasyPrint's, on portrait and landscape pages.
    assert footers(pdfs["base"]) == footers(tmp_path / "whole.pdf")
    with pikepdf.open(pdfs["base"]) as a, pikepdf.open(tmp_path / "whole.pdf") as b:
        assert links(a) == links(b) and outline(a) == outline(b)
        assert {str(k) for k in pikepdf.NameTree(a.Root.Names.Dests)} == {
            str(k) for k in pikepdf.NameTree(b.Root.Names.Dests)}
        # A stamp is page furniture: drawn inside a pagination artifact, not tagged.
        content = a.pages[1].obj.Contents
        drawn = b"".join(c.read_bytes() for c in content) if isinstance(
            content, pikepdf.Array) else content.read_bytes()
        assert b"/Artifact <</Type /Pagination /Subtype /Footer>> BDC" in drawn


def test_packets_of_two_drugs_share_their_faq_and_questions(builder):
    counted = []
    real = builder.render
    builder.render = lambda parts, options, cover=None: counted.append(
        (tuple(p.slug for p in parts), cover)) or real(parts, options, cover)
    cache = MemoryCache()
    try:
        for drug in ("alectinib", "lorlatinib"):
            render_base(builder, builder.plan(["faq", "drug-sheet", "questions"], drug),
                        Options(), cache)
    finally:
        del builder.render
    alone = [slugs[0] for slugs, cover in counted if cover and cover.part]
    assert sorted(alone) == ["drug-sheet-alectinib", "drug-sheet-lorlatinib", "faq",
                             "questions"]
    # Each packet's own cover; the parts and two stamp sheets (the packets' lengths
    # differ, or they would share one too) are kept.
    assert len([c for _, c in counted if c and c.alone]) == 2
    assert 5 <= len(cache.parts) <= 6


def test_a_spanish_packet_is_numbered_in_spanish(builder, tmp_path):
    options = Options(lang="es")
    parts = builder.plan(["drug-sheet", "questions"], "alectinib", "es")
    (tmp_path / "es.pdf").write_bytes(render_base(builder, parts, options))
    texts = page_texts(tmp_path / "es.pdf")
    assert all(f"Página {n} de {len(texts)}" in text for n, text in enumerate(texts, 1))
    assert "Page " not in " ".join(texts)


def test_a_drug_file_edit_invalidates_only_the_parts_that_show_it(content_copy):
    def keys() -> dict[tuple[str, str], str]:
        builder = Builder(content_copy)
        return {(drug, part.slug): part_key(builder, part, Cover(part=number), Options(), "")
                for drug in ("alectinib", "lorlatinib", "brigatinib")
                for number, part in enumerate(builder.plan(PACKET, drug), 1)}

    before = keys()
    # One FAQ and one questions part for every drug's packet; the rest are the drug's own.
    assert len({before[drug, "faq"] for drug in ("alectinib", "lorlatinib")}) == 1
    assert len(set(before.values())) == 1 + 3 * 3 + 1
    drug_file = content_copy / "drugs" / "lorlatinib.yaml"
    drug_file.write_text(drug_file.read_text() + "\n# edited\n")
    after = keys()
    # Lorlatinib's own parts, and the FAQ, which lists every approved drug from its file.
    assert {slug for drug, slug in before if before[drug, slug] != after[drug, slug]} == {
        "drug-sheet-lorlatinib", "calendar-lorlatinib", "diary-lorlatinib", "faq"}


def test_a_packet_that_starts_landscape_lays_its_portrait_parts_out_as_one_render(
        builder, tmp_path):
    """After a calendar first, a drug sheet is on the named page "tall", where WeasyPrint
    keeps a heading's top margin after a page break: its part is rendered so too."""
    import pdfplumber

    parts = builder.plan(["calendar", "drug-sheet"], "alectinib")
    (tmp_path / "joined.pdf").write_bytes(render_base(builder, parts, Options()))
    (tmp_path / "whole.pdf").write_bytes(builder.render(parts, Options(), Cover())[1].data)

    def words(path: Path) -> list:
        with pdfplumber.open(path) as pdf:
            return [[(w["text"], round(w["x0"], 1), round(w["top"], 1))
                     for w in page.extract_words()] for page in pdf.pages]

    assert words(tmp_path / "joined.pdf") == words(tmp_path / "whole.pdf")


def test_an_edit_renders_only_its_own_parts_and_old_parts_go_after_cache_days(
        tmp_path, content_copy):
    from handouts.pack import CACHE_DAYS

    (tmp_path / "patients.csv").write_text(
        "name,drug\nAna,alectinib\nBo,alectinib\nCy,lorlatinib\nDi,lorlatinib\n")
    (tmp_path / "pack.yaml").write_text("packet: [drug-sheet, questions]\n"
                                        "patients: patients.csv\n")
    out = tmp_path / "out"

    def run() -> dict[str, str]:
        """{part file: the first words of its first page} after a run."""
        builder = Builder(content_copy)
        run_pack(load_pack(tmp_path / "pack.yaml", builder), out, workers=1,
                 content_dir=content_copy)
        return {path.name: page_texts(path)[0][:100]
                for path in (out / CACHE / PARTS).glob("*.pdf")}

    first = run()
    drug_file = content_copy / "drugs" / "lorlatinib.yaml"
    drug_file.write_text(drug_file.read_text() + "\n# edited\n")
    second = run()
    # Lorlatinib's shared render was made again, from the questions part kept from the
    # first run and a new drug sheet; the old sheet stays until no pack has used it for
    # CACHE_DAYS (another pack sharing the folder may still be on the old content).
    [questions] = [name for name, text in first.items() if "Questions" in text]
    assert questions in second
    [old_sheet] = [name for name, text in first.items() if "Lorlatinib" in text]
    [new_sheet] = [name for name, text in second.items()
                   if "Lorlatinib" in text and name != old_sheet]
    assert old_sheet in second
    last_used(out / CACHE / PARTS / old_sheet, days_ago=CACHE_DAYS + 1)
    third = run()
    assert old_sheet not in third and new_sheet in third and questions in third


def test_a_stamp_sheet_that_does_not_fit_leaves_the_packet_rendered_whole(
        builder, monkeypatch, tmp_path):
    import handouts.stamp

    real = handouts.stamp.render_sheet
    monkeypatch.setattr(handouts.stamp, "render_sheet",
                        lambda builder, options, pages: real(builder, options, pages[1:]))
    parts = builder.plan(["drug-sheet", "questions"], "crizotinib")
    (tmp_path / "base.pdf").write_bytes(render_base(builder, parts, Options()))
    (tmp_path / "whole.pdf").write_bytes(builder.render(parts, Options(), Cover())[1].data)
    assert page_texts(tmp_path / "base.pdf") == page_texts(tmp_path / "whole.pdf")


def counted_renders(builder, monkeypatch) -> list[tuple[Cover, int]]:
    """(cover, pages) of every render builder makes from now on."""
    renders = []
    real = builder.render

    def counting(parts, options, cover=None):
        title, result = real(parts, options, cover)
        renders.append((cover, result.pages))
        return title, result

    monkeypatch.setattr(builder, "render", counting)
    return renders


def assert_reads_like(tmp_path, composed: bytes, whole: bytes) -> list[str]:
    (tmp_path / "c.pdf").write_bytes(composed)
    (tmp_path / "w.pdf").write_bytes(whole)
    texts = page_texts(tmp_path / "c.pdf")
    assert texts == page_texts(tmp_path / "w.pdf")
    with pikepdf.open(tmp_path / "c.pdf") as a, pikepdf.open(tmp_path / "w.pdf") as b:
        assert links(a) == links(b) and outline(a) == outline(b)
        assert [str(k.S) for k in a.Root.StructTreeRoot.K[0].K] == [
            str(k.S) for k in b.Root.StructTreeRoot.K[0].K]
    return texts


@pytest.mark.parametrize("kinds, drug, paper_name, profile_name, weeks", [
    (["drug-sheet", "calendar", "diary"], "brigatinib", "a4", "standard", None),
    # Large print: the guide and each week table take two pages; the missed-dose box one.
    # A calendar or diary first: its masthead is on the cover (in large print, alone and
    # without a clinic: a longer cover would not fit one page, and is rendered whole).
    (["diary"], "brigatinib", "letter", "large-print", None),
    (["calendar", "diary"], "lorlatinib", "letter", "standard", 12),
    (["calendar"], "brigatinib", "a4", "large-print", 12),
])
def test_a_dated_packet_renders_again_only_the_pages_that_show_the_date(
        builder, options, monkeypatch, tmp_path, kinds, drug, paper_name, profile_name,
        weeks):
    from handouts.options import paper, profile

    dated = replace(options, paper=paper(paper_name), profile=profile(profile_name),
                    schedule=Schedule(date(2026, 12, 7), weeks=weeks),
                    clinic=None if profile_name == "large-print" else options.clinic)
    parts = builder.plan(kinds, drug)
    base = render_base(builder, parts, dated)
    compose(builder, parts, dated, base)  # a first person: a lone handout's base is checked
    renders = counted_renders(builder, monkeypatch)
    _, composed, _ = compose(builder, parts, dated, base)
    monkeypatch.undo()
    texts = assert_reads_like(tmp_path, composed, builder.render(parts, dated, Cover())[1].data)
    # The cover, then one render per dated part, of its dated pages only: none of them
    # holds the call box or the sources, which are the same for every start date.
    assert [cover.alone for cover, _ in renders] == [True] + [False] * (len(renders) - 1)
    assert [cover.segment for cover, _ in renders[1:]] == [
        (n, n + 1) for n, part in enumerate(parts) if part.kind.dated]
    for cover, pages in renders[1:]:
        assert cover.dated_only
        for text in texts[cover.first_page - 1:cover.first_page - 1 + pages]:
            assert "Where this information comes from" not in text
            assert "Call your care team right away" not in text
    assert "December 7, 2026" in " ".join(texts)


def test_dated_pages_that_do_not_line_up_are_rendered_as_whole_parts(
        builder, options, monkeypatch, tmp_path):
    """When a part's dated pages are not as many as the base's (here: the base's are
    made to look longer), a packet is joined again from its parts: the dated parts whole
    for this date, the others from the parts cache."""
    import handouts.compose
    from handouts.partcache import MemoryCache

    parts = builder.plan(["calendar", "diary", "questions"], "ceritinib")
    cache = MemoryCache()
    base = render_base(builder, parts, options, cache)
    real = handouts.compose._marks

    def marks(part, number, options, base):
        found, _, only = real(part, number, options, base)
        return found, f"part-{number}-{part.slug}-sources", only

    monkeypatch.setattr(handouts.compose, "_marks", marks)
    renders = counted_renders(builder, monkeypatch)
    _, composed, pages = compose(builder, parts, options, base, cache)
    monkeypatch.undo()
    # The cover; the calendar's dated pages (then found not to line up); the calendar
    # and diary alone, dated; the cover again for the joined packet. No whole render.
    assert [(c.alone, bool(c.dated_only), c.part) for c, _ in renders] == [
        (True, False, None), (False, True, None), (False, False, 1), (False, False, 2),
        (True, False, None)]
    whole = builder.render(parts, options, Cover())[1]
    assert pages == whole.pages
    assert_reads_like(tmp_path, composed, whole.data)


@pytest.mark.parametrize("kinds, drug, profile_name, weeks", [
    # A packet: joined again from its parts, the dated ones rendered for this date, the
    # others shared.
    (["calendar", "diary", "questions"], "alectinib", "standard", None),
    # A single handout is rendered whole.
    (["calendar"], "crizotinib", "large-print", 12),
])
def test_dated_pages_that_do_not_line_up_fall_back(
        builder, options, monkeypatch, tmp_path, kinds, drug, profile_name, weeks):
    """Dated pages laid out unlike the undated ones (a dated grid a row taller, as a
    Sunday-first grid was, or a template override's) are found out and not used."""
    from handouts.options import paper, profile

    a4 = replace(options, paper=paper("a4"), profile=profile(profile_name),
                 schedule=Schedule(date(2026, 12, 7), weeks=weeks),
                 clinic=None if profile_name == "large-print" else options.clinic)
    from handouts.partcache import MemoryCache

    parts = builder.plan(kinds, drug)
    cache = MemoryCache()  # as a pack's folder of parts
    base = render_base(builder, parts, a4, cache)
    compose(builder, parts, a4, base, cache)  # a first person: a lone handout's base is checked
    import handouts.compose

    monkeypatch.setattr(handouts.compose, "_lines_up", lambda *args: False)
    renders = counted_renders(builder, monkeypatch)
    _, composed, pages = compose(builder, parts, a4, base, cache)
    monkeypatch.undo()
    assert renders[1][0].dated_only and not renders[-1][0].dated_only
    rendered_whole = [cover for cover, _ in renders if cover == Cover()]
    if len(parts) > 1:
        assert not rendered_whole
        # Only the dated parts again (the questions come from the cache), then the cover.
        assert [c.part for c, _ in renders if c.part] == [
            n for n, part in enumerate(parts, 1) if part.kind.dated]
        for n, data in enumerate(cache.parts.values()):  # a start date is the patient's
            (tmp_path / f"part-{n}.pdf").write_bytes(data)
            assert "December 7" not in pdf_text(tmp_path / f"part-{n}.pdf")
    else:
        assert rendered_whole
    whole = builder.render(parts, a4, Cover())[1]
    assert pages == whole.pages
    assert_reads_like(tmp_path, composed, whole.data)


@pytest.mark.parametrize("start", [None, date(2026, 12, 7)])
def test_a_shared_render_whose_blank_cover_takes_two_pages_is_not_composed(
        builder, tmp_path, start):
    """Large print without a clinic: the diary's masthead, write-in fields and contents
    take two pages blank, one with names. Composing would keep the blank cover's second
    page behind the person's cover (17 pages, not 16)."""
    from handouts.options import profile

    options = Options(profile=profile("large-print"), schedule=Schedule(start),
                      personal=Personal("Ana Diaz", "Dr. Lee", date(2026, 12, 1)))
    parts = builder.plan(["diary", "calendar"], "brigatinib")
    _, composed, pages = compose(builder, parts, options, render_base(builder, parts, options))
    whole = builder.render(parts, options, Cover())[1]
    assert pages == whole.pages
    assert_reads_like(tmp_path, composed, whole.data)
