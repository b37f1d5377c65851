"""`handouts site`: a static copy of the download page whose relative links all lead to real
PDFs, built by the pack machinery (so a re-run rebuilds nothing), and which works when
index.html is opened straight from disk."""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import FIXTURES, pdf_text
from handouts.cli import cli
from handouts.content import editions
from handouts.kinds import KINDS
from handouts.options import PAPERS, PROFILES
from handouts.paths import default_content_dir

CLINIC = "Riverside Lung Clinic"


class Links(HTMLParser):
    def __init__(self, html: str):
        super().__init__()
        self.urls: list[str] = []
        self.tags: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.urls += [value for name, value in attrs if name in ("href", "src") and value]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> tuple[Path, list[str]]:
    """A site for one drug (every kind, paper and profile), built once for the module."""
    folder = tmp_path_factory.mktemp("site")
    content = folder / "content"
    shutil.copytree(default_content_dir(), content)
    for drug in [*(content / "drugs").glob("*.yaml"), *(content / "es" / "drugs").glob("*.yaml")]:
        if drug.stem != "brigatinib":
            drug.unlink()
    shutil.copy(FIXTURES / "logo.png", folder / "logo.png")
    (folder / "clinic.yaml").write_text(f"name: {CLINIC}\nphone: 555-0100\nlogo: logo.png\n")
    args = ["site", "--clinic", str(folder / "clinic.yaml"), "--out", str(folder / "out"),
            "--workers", "2", "--content-dir", str(content)]
    runs = [CliRunner().invoke(cli, args, catch_exceptions=False) for _ in range(2)]
    for run in runs:
        assert run.exit_code == 0, run.output
    return folder / "out", [run.output for run in runs]


def test_every_handout_is_built_once_and_a_rerun_rebuilds_nothing(site):
    out, (first, second) = site
    # One drug, in each edition the content has (English, and Spanish once content/es is in).
    expected = len(KINDS) * len(PAPERS) * len(PROFILES) * len(editions(default_content_dir()))
    assert f"(built {expected}, unchanged 0, failed 0" in first
    assert f"(built 0, unchanged {expected}, failed 0" in second
    assert len(list((out / "pdf").glob("*.pdf"))) == expected
    assert (out / "pdf" / "manifest.json").is_file()


def test_every_link_is_relative_and_leads_to_a_real_file(site):
    out, _ = site
    html = (out / "index.html").read_text()
    page = Links(html)
    # The skip link and the clinic's phone link aside, every URL is a file in the folder.
    files = [url for url in page.urls if not url.startswith(("#", "tel:"))]
    assert files
    for url in files:
        assert not re.match(r"[a-z]+:|/|\.\.", url), url
        assert (out / url).is_file(), url
    pdfs = [url for url in files if url.endswith(".pdf")]
    assert len(pdfs) == len(KINDS) * len(PAPERS) * len(PROFILES)
    assert {"site.css", "logo.png"} <= set(files)
    assert "form" not in page.tags and "script" not in page.tags
    text = pdf_text(out / "pdf" / "drug-sheet-brigatinib-a4-large-print.pdf")
    assert "Brigatinib (Alunbrig)" in text and CLINIC in text


def test_the_static_page_names_every_kind_and_says_it_is_information_only(site):
    html = (site[0] / "index.html").read_text()
    assert html.count("<h1>") == 1 and CLINIC in html
    for kind in KINDS.values():
        assert kind.label in html and kind.description in html
    assert "Brigatinib (Alunbrig)" in html and 'scope="row"' in html
    assert "They do not replace advice from your care team" in html


def test_opened_from_disk_the_page_is_styled_and_passes_the_browser_audit(site):
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("/usr/bin/chromium is missing")
    from playwright.sync_api import sync_playwright

    from test_web_e2e import AUDIT, CHROMIUM_ARGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 375, "height": 740})
            page.goto((site[0] / "index.html").as_uri())
            header = page.evaluate(
                "getComputedStyle(document.querySelector('header')).backgroundColor")
            assert header == "rgb(10, 58, 107)"  # site.css loaded from the folder
            assert page.evaluate("document.querySelector('img.logo').naturalWidth") > 0
            assert page.evaluate(AUDIT) == []
        finally:
            browser.close()
