"""Clinic packs: jobs expand, build in parallel, re-runs skip unchanged work, bad rows
never sink the others, and patient names never become paths."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pdfplumber
import pytest
from click.testing import CliRunner

from conftest import FIXTURES, pdf_text
from handouts.cli import cli
from handouts.errors import HandoutError
from handouts.pack import load_pack, run_pack, shard, slugify

PACKS = Path(__file__).resolve().parent.parent / "packs"


def write_pack(folder: Path, text: str) -> Path:
    path = folder / "pack.yaml"
    path.write_text(text)
    return path


def pack_cli(*args):
    return CliRunner().invoke(cli, ["pack", *args], catch_exceptions=False)


def test_the_default_pack_is_every_handout_in_letter_and_a4(builder):
    jobs = load_pack(PACKS / "clinic.yaml", builder).jobs
    assert len(jobs) == 2 * (2 + 3 * 6)  # letter and A4: FAQ, questions, 3 kinds per drug
    names = {job.name for job in jobs}
    assert {"faq.pdf", "faq-a4.pdf", "drug-sheet-lorlatinib-a4.pdf", "calendar-alectinib.pdf",
            "diary-crizotinib-a4.pdf"} <= names


def test_build_rerun_skip_edit_one_drug_and_force(tmp_path, content_copy):
    pack = write_pack(tmp_path, "items:\n  - kinds: [questions]\n"
                                "  - kinds: [drug-sheet]\n    drugs: [brigatinib, lorlatinib]\n")
    out = tmp_path / "out"
    args = [str(pack), "--out", str(out), "--workers", "2", "--content-dir", str(content_copy)]
    first = pack_cli(*args)
    assert first.exit_code == 0, first.output
    assert first.output.startswith("built 3, unchanged 0, failed 0")
    manifest = json.loads((out / "manifest.json").read_text())
    entry = next(j for j in manifest["jobs"] if j["file"] == "drug-sheet-brigatinib.pdf")
    assert entry["pages"] >= 4 and entry["bytes"] > 10_000 and len(entry["sha256"]) == 64
    assert "content/drugs/brigatinib.yaml" in entry["inputs"]["content"]
    assert (out / "manifest.csv").read_text().startswith("file,status,sha256")

    assert pack_cli(*args).output.startswith("built 0, unchanged 3, failed 0")

    drug = content_copy / "drugs" / "brigatinib.yaml"
    drug.write_text(drug.read_text().replace('version: "2.0"', 'version: "2.1"'))
    assert pack_cli(*args).output.startswith("built 1, unchanged 2, failed 0")

    (out / "questions.pdf").write_bytes(b"tampered")  # output no longer matches the manifest
    assert pack_cli(*args).output.startswith("built 1, unchanged 2, failed 0")
    assert pack_cli(*args, "--force").output.startswith("built 3, unchanged 0, failed 0")


def test_same_inputs_give_byte_identical_pdfs(tmp_path, builder):
    pack = load_pack(write_pack(tmp_path, "items:\n  - kinds: [faq]\n"), builder)
    run_pack(pack, tmp_path / "a", workers=1)
    run_pack(pack, tmp_path / "b", workers=1)
    assert (tmp_path / "a" / "faq.pdf").read_bytes() == (tmp_path / "b" / "faq.pdf").read_bytes()


def test_a_bad_row_never_sinks_the_others_and_logs_no_patient_data(tmp_path):
    (tmp_path / "patients.csv").write_text(
        "name,drug,prescriber,date,paper\n"
        "Ana Diaz,alectinib,Dr. Lee,2026-12-01,letter\n"
        "Bo Secret,aspirin,Dr. Lee,2026-12-01,letter\n"
        "Cy Hidden,brigatinib,Dr. Lee,not-a-date,letter\n"
        "Di Park,lorlatinib,,,a4\n")
    pack = write_pack(tmp_path, "patients: patients.csv\n")
    result = pack_cli(str(pack), "--out", str(tmp_path / "out"), "--workers", "2")
    assert result.exit_code == 1
    assert "built 2, unchanged 0, failed 2" in result.output
    assert "Bo Secret" not in result.output and "Cy Hidden" not in result.output
    assert "row 3" in result.output and "row 4" in result.output
    assert sorted(p.name for p in (tmp_path / "out").glob("*.pdf")) == [
        "packet-ana-diaz.pdf", "packet-di-park.pdf"]


def test_extra_csv_columns_are_rejected(tmp_path, builder):
    (tmp_path / "patients.csv").write_text("name,drug,ssn\nAna,alectinib,123\n")
    with pytest.raises(HandoutError, match="row 1: unknown column 'ssn'; columns may be"):
        load_pack(write_pack(tmp_path, "patients: patients.csv\n"), builder)


@pytest.mark.parametrize("name, expected", [
    ("../../etc/passwd", "etc-passwd"), ("/", "patient"), ("a\x00b", "a-b"),
    ("Zoë Ångström", "zoe-angstrom"), ("李小龙", "patient"), ("x" * 300, "x" * 60),
])
def test_names_become_safe_file_names(name, expected):
    assert slugify(name) == expected


def test_tricky_names_stay_inside_the_output_folder_and_collide_safely(tmp_path, builder):
    (tmp_path / "patients.csv").write_text(
        "name,drug\n../../evil,alectinib\n/,alectinib\n李小龙,alectinib\n")
    pack = load_pack(write_pack(tmp_path, "patients: patients.csv\n"), builder)
    assert [j.name for j in pack.jobs] == ["packet-evil.pdf", "packet-patient.pdf",
                                           "packet-patient-2.pdf"]
    out = tmp_path / "out"
    run_pack(pack, out, workers=2)
    handouts = [p for p in tmp_path.rglob("*.pdf") if ".cache" not in p.parts]
    assert sorted(p.name for p in handouts) == sorted(j.name for j in pack.jobs)
    assert all(p.parent == out for p in handouts)
    # The three share one render (same packet, drug and options), named by a hash.
    [shared] = (out / ".cache").glob("*.pdf")
    assert re.fullmatch(r"[0-9a-f]{64}\.pdf", shared.name)


def test_shards_split_the_jobs_stably_and_completely(builder):
    jobs = load_pack(PACKS / "clinic.yaml", builder).jobs
    slices = [shard(jobs, k, 4) for k in range(1, 5)]
    assert sorted(j.name for s in slices for j in s) == sorted(j.name for j in jobs)
    assert shard(list(reversed(jobs)), 2, 4) == list(reversed(slices[1]))


def test_bad_shard_and_bad_pack_file_are_clear_errors(tmp_path):
    result = pack_cli(str(PACKS / "clinic.yaml"), "--shard", "5/4")
    assert result.exit_code == 2 and "--shard '5/4' must be K/N" in result.output
    pack = write_pack(tmp_path, "items:\n  - kinds: [faq]\n    papers: [a3]\n")
    result = pack_cli(str(pack))
    assert result.exit_code == 1 and "pack.yaml:items.0.papers.0" in result.output


def test_sigterm_leaves_no_partial_pdf_a_valid_manifest_and_the_next_run_resumes(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from pypdf import PdfReader

    pack = write_pack(tmp_path, "items:\n  - kinds: [faq, drug-sheet, questions]\n"
                                "    drugs: [alectinib, brigatinib, ceritinib]\n"
                                "    papers: [letter, a4]\n")
    out = tmp_path / "out"
    exe = Path(sys.executable).with_name("handouts")
    command = [str(exe), "pack", str(pack), "--out", str(out), "--workers", "1"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    manifest, journal = out / "manifest.json", out / "manifest.journal"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (journal.exists() and journal.stat().st_size):
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted after" in stderr and "Traceback" not in stderr
    finished = json.loads(manifest.read_text())["jobs"]
    assert 1 <= len(finished) < 6
    assert not list(out.glob(".*.part"))
    pdfs = list(out.glob("*.pdf"))
    assert {p.name for p in pdfs} == {j["file"] for j in finished}
    for pdf in pdfs:
        assert len(PdfReader(pdf).pages) > 10  # whole files only
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"built {6 - len(finished)}, unchanged {len(finished)}, failed 0" in rerun.stdout


def test_merged_print_file_has_every_handout_with_a_bookmark_each(tmp_path):
    from pypdf import PdfReader

    pack = write_pack(tmp_path, "items:\n  - kinds: [questions]\n"
                                "  - kinds: [drug-sheet]\n    drugs: [ensartinib]\n")
    out = tmp_path / "out"
    result = pack_cli(str(pack), "--out", str(out), "--merge")
    assert result.exit_code == 0 and f"wrote {out / 'pack.pdf'}" in result.output
    merged = PdfReader(out / "pack.pdf")
    parts = [PdfReader(out / name) for name in ["questions.pdf", "drug-sheet-ensartinib.pdf"]]
    assert len(merged.pages) == sum(len(p.pages) for p in parts)
    # Top level: one bookmark per handout; each handout's own heading bookmarks nest below.
    top = [item for item in merged.outline if not isinstance(item, list)]
    assert [item.title for item in top] == [
        "Questions to ask your doctor (questions.pdf)",
        "Ensartinib (Ensacove) (drug-sheet-ensartinib.pdf)"]
    assert merged.get_destination_page_number(top[1]) == len(parts[0].pages)
    assert any(isinstance(item, list) for item in merged.outline)
    # Tagged like the handouts (tests/test_join.py checks the tree itself).
    root = merged.trailer["/Root"]
    assert "/StructTreeRoot" in root and root["/MarkInfo"]["/Marked"]


def test_pack_items_name_files_by_generic_name_and_reject_unknown_drugs(tmp_path, builder):
    pack = load_pack(write_pack(tmp_path, "items:\n  - kinds: [drug-sheet]\n"
                                          "    drugs: [Alunbrig]\n"), builder)
    assert [job.name for job in pack.jobs] == ["drug-sheet-brigatinib.pdf"]
    bad = write_pack(tmp_path, "items:\n  - kinds: [faq]\n  - kinds: [drug-sheet]\n"
                               "    drugs: [../x]\n")
    result = pack_cli(str(bad), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "pack.yaml:items.1: unknown drug '../x'" in result.output
    assert not (tmp_path / "out").exists()  # nothing built from a pack with a typo


@pytest.mark.parametrize("clinic, message", [
    ("missing.yaml", "missing.yaml: file not found"),
    ("clinic.yaml", "clinic.yaml:logo: file not found"),
])
def test_a_bad_clinic_file_is_one_clear_line_not_a_crashed_pool(tmp_path, clinic, message):
    (tmp_path / "clinic.yaml").write_text("name: Riverside\nlogo: gone.png\n")
    pack = write_pack(tmp_path, f"clinic: {clinic}\nitems:\n  - kinds: [faq]\n")
    result = pack_cli(str(pack), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output


def test_an_unreadable_logo_fails_only_the_jobs_that_show_it(tmp_path):
    """A network pack: one site's logo file is broken; the other site's handouts still build."""
    shutil.copy(FIXTURES / "logo.png", tmp_path / "good.png")
    (tmp_path / "broken.png").write_bytes(b"this is not a picture")
    (tmp_path / "north.yaml").write_text("name: North Clinic\nlogo: good.png\n")
    (tmp_path / "south.yaml").write_text("name: South Clinic\nlogo: broken.png\n")
    pack = write_pack(tmp_path, "clinic: north.yaml\nitems:\n  - kinds: [questions]\n"
                                "  - kinds: [questions]\n    clinic: south.yaml\n")
    out = tmp_path / "out"
    result = pack_cli(str(pack), "--out", str(out), "--workers", "2")
    assert result.exit_code == 1
    assert "built 1, unchanged 0, failed 1" in result.output
    assert "failed south/questions.pdf: clinic logo" in result.output
    assert "North Clinic" in pdf_text(out / "questions.pdf")
    assert not (out / "south" / "questions.pdf").exists()
    assert not list(out.rglob("*.part"))
    entries = {e["file"]: e for e in json.loads((out / "manifest.json").read_text())["jobs"]}
    assert entries["south/questions.pdf"]["status"] == "failed"
    assert "cannot be read as a PNG, SVG or JPEG" in entries["south/questions.pdf"]["error"]
    assert entries["questions.pdf"]["inputs"]["clinic"]["logo_sha256"]


def test_a_name_too_long_to_lay_out_fails_its_row_alone(tmp_path):
    """Over 100 characters is refused (by row number, never by name); a 100-character name
    with no spaces still fits inside the page."""
    longest = "W" * 100
    (tmp_path / "patients.csv").write_text(
        "name,drug\n" f"{'Secretname' * 30},alectinib\n" f"{longest},alectinib\n")
    pack = write_pack(tmp_path, "patients: patients.csv\n")
    out = tmp_path / "out"
    result = pack_cli(str(pack), "--out", str(out), "--workers", "1")
    assert result.exit_code == 1
    assert "failed row 2: patients.csv:row 2: name is longer than 100 characters" in result.output
    assert "Secretname" not in result.output
    assert "Secretname" not in (out / "manifest.json").read_text()
    built = out / f"packet-{'w' * 60}.pdf"
    with pdfplumber.open(built) as pdf:
        page = pdf.pages[0]
        name_chars = [c for c in page.chars if c["text"] == "W"]
        assert len(name_chars) == 100  # every letter printed, on page 1
        assert all(page.bbox[0] < c["x0"] and c["x1"] < page.width - 36 for c in name_chars)


def test_packs_build_dated_calendars_and_per_patient_packets(tmp_path):
    (tmp_path / "patients.csv").write_text(
        "name,drug,start\nAna Diaz,alectinib,2026-12-02\nBo Hidden,brigatinib,soon\n"
        "Cy Park,lorlatinib,\n")
    pack = write_pack(tmp_path, "items:\n  - kinds: [calendar]\n    drugs: [Alunbrig]\n"
                                "    start: 2026-12-01\n    weeks: 2\n"
                                "packet: [calendar, diary]\npatients: patients.csv\n")
    out = tmp_path / "out"
    result = pack_cli(str(pack), "--out", str(out), "--workers", "2")
    assert result.exit_code == 1
    assert ("failed row 3: patients.csv:row 3: start must be a date written YYYY-MM-DD"
            in result.output)
    assert "Bo Hidden" not in result.output
    calendar = pdf_text(out / "calendar-brigatinib-from-2026-12-01-2-weeks.pdf")
    assert "December 1, 2026 to December 14, 2026" in calendar
    ana = pdf_text(out / "packet-ana-diaz.pdf")
    assert "Medicine calendar: Alectinib (Alecensa)" in ana and "December 2, 2026" in ana
    assert "Side-effect diary: Alectinib (Alecensa)" in ana and "Muscle pain" in ana
    assert "Medicine sheet" not in ana  # only the kinds the pack asked for
    assert "Date:" in pdf_text(out / "packet-cy-park.pdf")  # no start: write-in dates


def test_a_bad_packet_kind_or_weeks_names_the_field(tmp_path, builder):
    (tmp_path / "patients.csv").write_text("name,drug\nAna,alectinib\n")
    with pytest.raises(HandoutError, match="pack.yaml:packet: unknown handout kind 'leaflet'"):
        load_pack(write_pack(tmp_path, "packet: [faq, leaflet]\npatients: patients.csv\n"),
                  builder)
    with pytest.raises(HandoutError, match="pack.yaml:items.0.weeks"):
        load_pack(write_pack(tmp_path, "items:\n  - kinds: [diary]\n    drugs: all\n"
                                       "    weeks: 13\n"), builder)


def test_the_templates_hash_follows_pdf_templates_not_the_web_page(tmp_path):
    from handouts.build import Builder
    from handouts.pack import _templates_sha256

    (tmp_path / "web").mkdir()
    base = _templates_sha256(Builder(templates_dir=tmp_path))
    (tmp_path / "web" / "site.css").write_text("body { color: #000000; }")
    assert _templates_sha256(Builder(templates_dir=tmp_path)) == base
    (tmp_path / "handout.css").write_text("body { color: #000000; }")
    assert _templates_sha256(Builder(templates_dir=tmp_path)) != base


def test_merge_with_nothing_built_says_so_and_still_lists_the_failures(tmp_path):
    (tmp_path / "patients.csv").write_text("name,drug,date\nAna,alectinib,not-a-date\n")
    pack = write_pack(tmp_path, "patients: patients.csv\n")
    result = pack_cli(str(pack), "--out", str(tmp_path / "out"), "--merge")
    assert result.exit_code == 1
    assert "no pack.pdf: no handout was built" in result.output
    assert "failed row 2" in result.output and not (tmp_path / "out" / "pack.pdf").exists()
