"""A QR code on the printed page leads to that exact handout online, blank, at an address
that both `handouts serve` and `handouts site` answer; no site_url, no code."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pikepdf
import pytest
from click.testing import CliRunner

from conftest import pdf_text
from handouts.cli import cli
from handouts.options import PAPERS, PROFILES, Options, load_clinic, personal, schedule
from handouts.pack import Pack, run_pack
from handouts.web import create_app, jobs
from handouts.web.site import _jobs

SITE = "https://riverside.example.org/handouts"
needs_zbar = pytest.mark.skipif(not (shutil.which("zbarimg") and shutil.which("pdftoppm")),
                                reason="needs zbarimg (zbar-tools) and pdftoppm (poppler-utils)")


def online_clinic(folder: Path, site_url: str = SITE + "/") -> Path:
    path = folder / "clinic.yaml"
    path.write_text(f"name: Riverside Lung Clinic\nphone: 555-0100\nsite_url: {site_url}\n",
                    encoding="utf-8")
    return path


def scan_first_page(pdf: Path) -> list[str]:
    """Rasterise page 1 at 150 dpi (a plain office printer) and decode every QR code on it."""
    subprocess.run(["pdftoppm", "-r", "150", "-f", "1", "-l", "1", "-png", str(pdf),
                    str(pdf.with_suffix(""))], check=True)
    image = next(pdf.parent.glob(pdf.stem + "-*1.png"))
    done = subprocess.run(["zbarimg", "--quiet", "--raw", str(image)], capture_output=True,
                          text=True)
    return done.stdout.split()


@needs_zbar
@pytest.mark.parametrize(("paper", "profile", "kinds", "expected"), [
    ("letter", "standard", ["drug-sheet"], "drug-sheet-alectinib.pdf"),
    ("a4", "large-print", ["calendar"], "calendar-alectinib-a4-large-print.pdf"),
])
def test_a_personalised_dated_handout_scans_to_the_blank_one(
        builder, tmp_path, paper, profile, kinds, expected):
    clinic = load_clinic(online_clinic(tmp_path))
    options = Options(paper=PAPERS[paper], profile=PROFILES[profile], clinic=clinic,
                      personal=personal("Ana Diaz", "Dr. Lee", "2026-12-01"),
                      schedule=schedule("2026-12-01", 2))
    built = builder.build(kinds, "alectinib", options, tmp_path / "ana.pdf")
    assert built.warnings == ()
    assert scan_first_page(built.path) == [f"{SITE}/pdf/{expected}"]
    # The printed address matches the code, and nothing personal is in either.
    # (the address may wrap across lines, so compare without spaces).
    printed = pdf_text(built.path).replace(" ", "")
    assert f"riverside.example.org/handouts/pdf/{expected}" in printed
    assert "Ana" not in scan_first_page(built.path)[0]


def test_no_site_url_no_code(builder, tmp_path, clinic_file):
    built = builder.build(["faq"], None, Options(clinic=load_clinic(clinic_file)),
                          tmp_path / "faq.pdf")
    assert "This handout online" not in pdf_text(built.path)
    with pikepdf.open(built.path) as pdf:
        assert not any(str(pikepdf.Name.Figure) == str(e.get("/S")) and "QR" in str(e.get("/Alt"))
                       for e in _structure(pdf))


def test_the_code_is_a_tagged_figure_with_alt_text_in_each_part(builder, tmp_path):
    clinic = load_clinic(online_clinic(tmp_path))
    built = builder.build(["faq", "questions"], None, Options(clinic=clinic),
                          tmp_path / "both.pdf")
    with pikepdf.open(built.path) as pdf:
        assert str(pdf.Root.MarkInfo.Marked) == "True"
        alts = [str(e.Alt) for e in _structure(pdf) if e.get("/S") == "/Figure"
                and str(e.Alt).startswith("QR code")]  # the pictograms are figures too
    # One code per part, each leading to that part's own handout.
    assert len(alts) == 2
    assert "riverside.example.org/handouts/pdf/faq.pdf" in alts[0]
    assert "riverside.example.org/handouts/pdf/questions.pdf" in alts[1]
    # And the PDF/UA checker still finds no errors.
    exe = Path(sys.executable).with_name("outloud")
    done = subprocess.run([str(exe), "--json", "-", "--fail-on", "never", str(built.path)],
                          capture_output=True, text=True, check=True)
    findings = json.loads(done.stdout)["results"][0]["findings"]
    assert [f for f in findings if f["severity"] == "error"] == []


@pytest.mark.parametrize("bad", ["riverside.example.org", "javascript:alert(1)",
                                 "https://x.org/a?patient=1", "https://x.org/a b"])
def test_a_bad_site_url_is_one_line_and_exit_1(tmp_path, bad):
    path = online_clinic(tmp_path, json.dumps(bad))
    result = CliRunner().invoke(cli, ["build", "faq", "--clinic", str(path),
                                      "--out-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "site_url" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_serve_and_site_publish_the_same_names(builder):
    served = set(jobs.published_jobs(builder))
    static = {job.name for lang in builder.editions()
              for job in _jobs(builder, None, lang).values()}
    assert served == static
    assert "drug-sheet-alectinib-a4-large-print.pdf" in served
    assert "drug-sheet-alectinib-a4-large-print-es.pdf" in served


def test_serve_answers_the_stable_address_with_the_download_pdf(tmp_path):
    clinic = load_clinic(online_clinic(tmp_path))
    app = create_app(clinic, workers=1, in_process=True)
    try:
        client = app.test_client()
        stable = client.get("/pdf/drug-sheet-lorlatinib-a4.pdf")
        form = client.get("/download?kind=drug-sheet&drug=Lorbrena&paper=a4")
        assert stable.status_code == 200 and stable.mimetype == "application/pdf"
        assert stable.data == form.data
        assert stable.headers["ETag"] == form.headers["ETag"]
        for missing in ["/pdf/drug-sheet-aspirin.pdf", "/pdf/..%2fmanifest.json",
                        "/pdf/manifest.json"]:
            assert client.get(missing).status_code == 404
    finally:
        app.extensions["handouts"].close()


def _structure(pdf: pikepdf.Pdf) -> list:
    found = []

    def walk(node):
        if "/S" in node:
            found.append(node)
        kids = node.get("/K")
        for kid in kids if isinstance(kids, pikepdf.Array) else [kids]:
            if isinstance(kid, pikepdf.Dictionary):
                walk(kid)

    walk(pdf.Root.StructTreeRoot)
    return found


def test_site_and_serve_publish_the_same_pdf_at_the_same_address(builder, tmp_path):
    """What a printed code opens is the same file whichever way the clinic publishes."""
    clinic = load_clinic(online_clinic(tmp_path))
    job = _jobs(builder, clinic, "en")[("calendar", "ceritinib", "a4", "standard")]
    out = tmp_path / "site" / "pdf"
    run_pack(Pack(out, [job], clinic), out, workers=1)
    app = create_app(clinic, workers=1, in_process=True)
    try:
        served = app.test_client().get("/pdf/calendar-ceritinib-a4.pdf")
    finally:
        app.extensions["handouts"].close()
    assert served.data == (out / "calendar-ceritinib-a4.pdf").read_bytes()
