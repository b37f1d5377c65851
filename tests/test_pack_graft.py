"""A pack grafts each patient's cover (graft.compose_packet): only the patient's fields
are rendered, and given a start date their dated pages, onto a cover template of the
undated shared render kept in the cache folder. The packets are compose.compose's (same
text page by page, tags, outline, links; outloud 0 errors); a later day with new patients
and another start date makes no new template; templates hold no names and are pruned
like the shared renders; whatever cannot be grafted is composed the usual way."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date
from pathlib import Path

import pikepdf
import pytest

from conftest import pdf_text, reader, write_clinic
from handouts import graft
from handouts.build import Builder
from handouts.compose import compose, render_base
from handouts.options import Options, Personal, Schedule, load_clinic, paper
from handouts.pack import CACHE_DAYS, COVERS, Planner, _prune_cache, base_key, load_pack, run_pack
from handouts.partcache import MemoryCache
from test_compose import counted_renders, last_used, links, outline
from test_graft import assert_same, outloud_errors

PACKET = ["faq", "drug-sheet", "calendar", "diary", "questions"]


@pytest.fixture(scope="module")
def options(tmp_path_factory) -> Options:
    clinic = load_clinic(write_clinic(tmp_path_factory.mktemp("clinic")))
    return Options(clinic=clinic, personal=Personal("Zebulon Quartzfield", "Dr. Yarrow",
                                                    date(2026, 12, 1)))


def kept(templates: dict) -> graft.TemplateFor:
    """Templates kept as a pack keeps them: as bytes (Template.dumps), read back."""
    def template_for(size, make):
        if size not in templates:
            templates[size] = make().dumps()
        return graft.Template.loads(templates[size])

    return template_for


def assert_composes_alike(tmp_path: Path, grafted: tuple, composed: tuple) -> None:
    """The same title and pages, text page by page, tags, cover pixels, links, outline;
    and PDF/UA by outloud."""
    assert grafted[0] == composed[0] and grafted[2] == composed[2]
    assert_same(tmp_path, grafted[1], composed[1])
    with pikepdf.open(io.BytesIO(grafted[1])) as a, pikepdf.open(io.BytesIO(composed[1])) as b:
        assert links(a) == links(b) and outline(a) == outline(b)
        assert a.open_metadata()["pdfuaid:part"] == "1"
    assert outloud_errors(tmp_path / "g.pdf") == []


@pytest.mark.parametrize("kinds, drug, paper_name", [
    (PACKET, "brigatinib", "letter"),
    # A calendar first: the cover is its masthead, and its dated pages follow at once.
    (["calendar", "diary", "questions"], "lorlatinib", "a4"),
    # Twice a day, days 1 on Mondays: a Sunday-first grid had a row more and never lined
    # up; treatment weeks (grids._weeks) do.
    (["calendar", "diary"], "alectinib", "letter"),
])
def test_a_packs_grafted_packets_undated_and_dated_are_composes(builder, options, tmp_path,
                                                                monkeypatch, kinds, drug,
                                                                paper_name):
    parts = builder.plan(kinds, drug)
    letter = replace(options, paper=paper(paper_name))
    cache = MemoryCache()
    base = render_base(builder, parts, letter, cache)
    templates: dict = {}
    for start in (None, date(2026, 12, 7), date(2027, 1, 4)):
        dated = replace(letter, schedule=Schedule(start))
        composed = compose(builder, parts, dated, base, cache)
        renders = counted_renders(builder, monkeypatch)
        grafted = graft.compose_packet(builder, parts, dated, base, kept(templates), cache)
        monkeypatch.undo()
        # No cover render: the fields alone (not a Builder.render), then only the dated
        # pages, onto the one template of the undated render, whatever the start date.
        assert [(bool(c.dated_only), c.alone) for c, _ in renders] == [
            (True, False)] * (sum(part.kind.dated for part in parts) if start else 0)
        assert len(templates) == 1
        assert_composes_alike(tmp_path, grafted, composed)
        text = pdf_text(tmp_path / "g.pdf")
        assert "Prepared for: Zebulon Quartzfield" in text
        if start:
            assert f"calendar, {start:%B} {start.day}, {start.year} to" in text
    [template] = templates.values()
    (tmp_path / "t.pdf").write_bytes(template)
    text = pdf_text(tmp_path / "t.pdf")
    assert "Zebulon" not in text and "Yarrow" not in text and "December 7" not in text


def test_dated_pages_that_do_not_line_up_are_joined_again_without_a_cover_first(
        builder, options, tmp_path, monkeypatch):
    """Dated pages laid out unlike the undated ones (as a Sunday-first grid was, a row
    taller; see test_compose): the packet is joined again from its parts as compose does,
    without first rendering the cover and dated pages compose renders before it finds
    out."""
    import handouts.compose

    a4 = replace(options, paper=paper("a4"), schedule=Schedule(date(2026, 12, 7)))
    parts = builder.plan(["calendar", "diary", "questions"], "alectinib")
    cache = MemoryCache()
    base = render_base(builder, parts, a4, cache)
    monkeypatch.setattr(handouts.compose, "_lines_up", lambda *args: False)
    composed = compose(builder, parts, a4, base, cache)
    renders = counted_renders(builder, monkeypatch)
    grafted = graft.compose_packet(builder, parts, a4, base, kept({}), cache)
    monkeypatch.undo()
    # The calendar's dated pages (found not to line up), the dated parts alone, then the
    # joined packet's cover: one cover, the dated pages once.
    assert [(c.alone, bool(c.dated_only), c.part) for c, _ in renders] == [
        (False, True, None), (False, False, 1), (False, False, 2), (True, False, None)]
    assert_composes_alike(tmp_path, grafted, composed)


def test_what_a_pack_cannot_graft_is_composed_the_usual_way(builder, options, monkeypatch,
                                                             caplog):
    dated = replace(options, schedule=Schedule(date(2026, 12, 7)))
    parts = builder.plan(["drug-sheet", "calendar"], "ceritinib")
    base = render_base(builder, parts, dated)
    composed = compose(builder, parts, dated, base)

    def refuse(*args):
        raise graft.Unsupported("test")

    calls = []
    monkeypatch.setattr(graft, "make_template", lambda *a: calls.append(a) or refuse())
    assert graft.compose_packet(builder, parts, dated, base, kept({})) == composed
    # Not tried again for the next patient of that size, whatever their start date.
    later = replace(dated, schedule=Schedule(date(2027, 1, 4)))
    assert graft.compose_packet(builder, parts, later, base, kept({})) == compose(
        builder, parts, later, base)
    assert len(calls) == 1
    monkeypatch.undo()

    def broken(template, fields, patches=()):
        raise KeyError("Zebulon Quartzfield")

    monkeypatch.setattr(graft, "_FAILED", set())
    monkeypatch.setattr(graft, "graft", broken)
    assert graft.compose_packet(builder, parts, dated, base, kept({})) == composed
    assert "cover graft failed (KeyError)" in caplog.text and "Zebulon" not in caplog.text


def test_a_kept_template_reads_back_as_made(builder, options):
    parts = builder.plan(["drug-sheet"], "alectinib")
    base = render_base(builder, parts, options)
    _, made = graft.compose(builder, parts, options, base, {})
    kept_bytes = made.dumps()
    # Still a PDF, whole, as a FolderCache keeps them; read back as made.
    assert kept_bytes.startswith(b"%PDF-") and b"%%EOF" in kept_bytes[-32:]
    assert reader(kept_bytes).pages[0].extract_text() == reader(made.data).pages[0
                                                                              ].extract_text()
    assert graft.Template.loads(kept_bytes) == made
    with pytest.raises(graft.Unsupported):
        graft.Template.loads(made.data)


def day(folder: Path, name: str, rows: str) -> Path:
    (folder / f"{name}.csv").write_text("name,drug,prescriber,start\n" + rows)
    (folder / f"{name}.yaml").write_text(
        f"packet: [drug-sheet, calendar]\npatients: {name}.csv\ndate: 2026-12-01\n")
    return folder / f"{name}.yaml"


def test_a_later_clinic_day_grafts_onto_the_templates_kept_by_the_first(tmp_path):
    builder = Builder()
    cache = tmp_path / "cache"
    first = day(tmp_path, "day1", "Ana Diaz,brigatinib,Dr. Lee,2026-12-07\n"
                                  "Bo Chen,brigatinib,Dr. Lee,\n")
    assert run_pack(load_pack(first, builder), tmp_path / "d1", workers=1,
                    cache_dir=cache).built == 2
    # One template (both patients' fields are one line each: one size), whatever their
    # start dates; named by a hash, holding no names.
    [template] = (cache / COVERS).glob("*.pdf")
    made = template.read_bytes()
    with pikepdf.open(template) as pdf:
        about = repr(dict(pdf.docinfo)) + str(pdf.open_metadata())
    for name in ("Ana", "Diaz", "Bo Chen", "Lee"):
        assert name not in template.name and name.encode() not in made
        assert name not in pdf_text(template) and name not in about
    pack = load_pack(first, builder)
    planner = Planner(builder)
    for job in pack.jobs:
        parts = builder.plan(list(job.kinds), job.drug)
        base = (cache / f"{base_key(planner.inputs(job))}.pdf").read_bytes()
        data = (tmp_path / "d1" / job.name).read_bytes()
        assert_composes_alike(tmp_path, ("", data, 0),
                              ("", compose(builder, parts, job.options(), base)[1], 0))

    # A later day: new patients, another start date. No new template, the kept one used.
    last_used(template, days_ago=7)
    second = day(tmp_path, "day2", "Cy Obi,brigatinib,Dr. Lee,2027-01-04\n"
                                   "Di Fox,brigatinib,Dr. Ng,\n")
    assert run_pack(load_pack(second, builder), tmp_path / "d2", workers=1,
                    cache_dir=cache).built == 2
    assert list((cache / COVERS).glob("*.pdf")) == [template]
    assert template.read_bytes() == made and not _days_old(template, 1)
    text = pdf_text(tmp_path / "d2" / "packet-cy-obi.pdf")
    assert "Prepared for: Cy Obi" in text and "January 4, 2027" in text
    assert "Prepared for: Di Fox" in pdf_text(tmp_path / "d2" / "packet-di-fox.pdf")
    # Pruned like the shared renders: unused for CACHE_DAYS, gone.
    last_used(template, days_ago=CACHE_DAYS + 1)
    _prune_cache(cache, CACHE_DAYS)
    assert not template.exists()


def _days_old(path: Path, days: float) -> bool:
    import time

    return path.stat().st_mtime < time.time() - days * 86400


def test_a_template_the_cache_cannot_keep_still_serves_its_patient(tmp_path):
    from handouts.pack import _kept_templates

    (tmp_path / "covers").write_text("a file where the folder would be")
    made = []
    template_for = _kept_templates(tmp_path / "covers", "a" * 64, b"%PDF-base")
    assert template_for((1.0, 2.0, 3.0), lambda: made.append(1) or "template") == "template"
    assert made == [1]
