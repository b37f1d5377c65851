"""The download page: every route, every bad input, the PDF cache, and failures that must
neither leak a patient's name nor stop the server. Renders run in threads here (the
server's process pool is covered by one test below and by tests/test_web_e2e.py)."""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from html.parser import HTMLParser

import pytest
from markupsafe import escape

from conftest import FIXTURES, reader, write_clinic
from handouts.kinds import KINDS
from handouts.options import PAPERS, PROFILES, Clinic, load_clinic
from handouts.web import create_app, jobs, pages
from handouts.web.app import CSP

CLINIC = "Riverside Lung Clinic"
INJECTIONS = ["<script>alert(1)</script>", "{{ 7*7 }}", '"><img src=x onerror=alert(1)>']


@pytest.fixture(scope="module")
def clinic(tmp_path_factory):
    return load_clinic(write_clinic(tmp_path_factory.mktemp("clinic")))


@pytest.fixture(scope="module")
def app(clinic):
    app = create_app(clinic, workers=1, in_process=True)
    yield app
    app.extensions["handouts"].close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def renders(monkeypatch) -> list:
    """The jobs actually rendered during one test."""
    seen = []
    real = jobs.render_job

    def counting(builder, clinic, job):
        seen.append(job)
        return real(builder, clinic, job)

    monkeypatch.setattr(jobs, "render_job", counting)
    return seen


def text_of(data: bytes) -> str:
    pdf = reader(data)
    return re.sub(r"\s+", " ", " ".join(page.extract_text() or "" for page in pdf.pages))


def assert_secure(response) -> None:
    assert response.headers["Content-Security-Policy"] == CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def assert_friendly_error(response, status: int) -> str:
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert_secure(response)
    page = response.get_data(as_text=True)
    assert page.count("<h1>") == 1 and "Go back to the handouts" in page
    assert "Traceback" not in page
    return page


class Page(HTMLParser):
    """Tags and attributes of a page, for structure checks."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def all(self, tag: str) -> list[dict]:
        return [attrs for name, attrs in self.tags if name == tag]


# ---- the page ----------------------------------------------------------------------

def test_the_page_shows_the_clinic_every_kind_drug_paper_and_profile(client):
    response = client.get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert_secure(response)
    html = response.get_data(as_text=True)
    for text in [CLINIC, "555-0100", "555-0199", "12 River Road, Springfield",
                 'href="https://riverside.example.org"', 'href="tel:5550100"',
                 "They do not replace advice from your care team", "Brigatinib (Alunbrig)",
                 "Lorlatinib (Lorbrena)", "Prepared for"]:
        assert text in html
    for kind in KINDS.values():
        assert kind.label in html and kind.description in html
        assert f'name="kind" value="{kind.name}"' in html
    page = Page(html)
    options = {a["value"] for a in page.all("option")}
    assert {"alectinib", "brigatinib", "ceritinib", "crizotinib", "ensartinib",
            "lorlatinib"} <= options
    assert set(PAPERS) <= options and set(PROFILES) <= options


def test_the_page_has_labels_landmarks_and_one_h1_and_no_scripts(client):
    html = client.get("/").get_data(as_text=True)
    page = Page(html)
    assert page.all("html")[0]["lang"] == "en"
    assert len(page.all("h1")) == 1
    assert page.all("header") and page.all("main") and page.all("footer")
    assert page.all("meta")[1]["name"] == "viewport"
    labelled = {a["for"] for a in page.all("label")}
    controls = [a for a in page.all("select") + page.all("input") if a.get("type") != "hidden"]
    assert controls and all(c["id"] in labelled for c in controls)
    ids = [a["id"] for _, a in page.tags if "id" in a]
    assert len(ids) == len(set(ids)), "duplicate ids"
    # The name fields sit only in the POST form, so a name never lands in a URL or a log.
    forms = page.all("form")
    assert [f["method"] for f in forms] == ["get", "post"]
    assert "<script" not in html and "style=" not in html


def test_the_page_without_a_clinic_still_works():
    app = create_app(None, workers=1, in_process=True)
    try:
        html = app.test_client().get("/").get_data(as_text=True)
    finally:
        app.extensions["handouts"].close()
    assert "Patient handouts" in html and "Medicine sheet" in html


@pytest.mark.parametrize("website, href", [
    ("riverside.example.org", "https://riverside.example.org"),
    ("https://example.org/lung", "https://example.org/lung"),
    ("javascript:alert(1)", None), ("data:text/html,hi", None), ("call us", None),
])
def test_only_plain_web_addresses_become_links(website, href):
    contact = pages.contacts(Clinic("A clinic", website=website))[0]
    assert contact.text == website and contact.href == href


def test_static_files_are_a_fixed_set(client):
    css = client.get("/static/site.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert_secure(css)
    assert client.get("/static/atkinson-regular.ttf").status_code == 200
    logo = client.get("/static/logo.png")
    assert logo.mimetype == "image/png"
    assert logo.data == (FIXTURES / "logo.png").read_bytes()


@pytest.mark.parametrize("path", [
    "/static/../pyproject.toml", "/static/%2e%2e/pyproject.toml", "/%2e%2e/%2e%2e/etc/passwd",
    "/static/%2e%2e%2f%2e%2e%2fpyproject.toml", "/static/..%2F..%2Fpyproject.toml",
    "/static/handout.css", "/static/index.html.j2", "/static/", "/etc/passwd",
    "/static/site.css/../../pyproject.toml", "/pyproject.toml", "/download/../pyproject.toml",
])
def test_no_path_reaches_a_file_outside_the_served_set(client, path):
    page = assert_friendly_error(client.get(path), 404)
    assert "[build-system]" not in page and "root:" not in page


@pytest.mark.parametrize("raw", ["//etc/passwd", "/static//etc/passwd", "/static/../../etc/passwd"])
def test_absolute_and_raw_paths_are_404(client, raw):
    # PATH_INFO exactly as a server would pass it (the test client would parse '//etc' as a host).
    assert_friendly_error(client.get("/", environ_overrides={"PATH_INFO": raw}), 404)


def test_get_on_the_staff_form_is_a_friendly_405(client):
    response = client.get("/personalised")
    assert_friendly_error(response, 405)
    assert "POST" in response.headers["Allow"]


def test_the_app_never_runs_in_debug_mode(app):
    assert app.debug is False and app.config["DEBUG"] is False


# ---- non-personalised downloads -----------------------------------------------------

def test_a_download_is_the_chosen_drug_sheet_with_the_clinic_on_a4(client):
    response = client.get("/download?kind=drug-sheet&drug=Alunbrig&paper=a4&profile=standard")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert_secure(response)
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="drug-sheet-brigatinib-a4.pdf"')
    text = text_of(response.data)
    assert "Brigatinib (Alunbrig)" in text and CLINIC in text
    width, height = reader(response.data).pages[0].mediabox.upper_right
    assert (round(float(width)), round(float(height))) == (595, 842)


def test_repeat_downloads_come_from_the_cache_never_a_new_render(client, renders):
    url = "/download?kind=drug-sheet&drug=lorlatinib&profile=large-print"
    first = client.get(url)
    assert first.status_code == 200 and len(renders) == 1
    sha = hashlib.sha256(first.data).hexdigest()
    assert first.headers["ETag"] == f'"{sha}"'
    assert first.headers["Cache-Control"].startswith("public, max-age=")
    assert "Lorlatinib (Lorbrena)" in text_of(first.data)

    # The same handout asked for by brand name, in capitals, with a drug-less kind's extras.
    for again in [url, "/download?kind=DRUG-SHEET&drug=LORBRENA&profile=Large-Print&paper=letter"]:
        repeat = client.get(again)
        assert repeat.status_code == 200 and repeat.data == first.data
    not_modified = client.get(url, headers={"If-None-Match": f'"{sha}"'})
    assert not_modified.status_code == 304 and not_modified.data == b""
    assert not_modified.headers["ETag"] == f'"{sha}"'
    assert_secure(not_modified)
    stale = client.get(url, headers={"If-None-Match": '"0000"'})
    assert stale.status_code == 200 and stale.data == first.data
    assert len(renders) == 1


def test_choices_a_kind_does_not_use_share_its_cache_entry(client, renders):
    plain = client.get("/download?kind=questions&paper=a4")
    with_drug = client.get("/download?kind=questions&paper=a4&drug=crizotinib")
    assert plain.data == with_drug.data and len(renders) == 1
    assert plain.headers["Content-Disposition"].endswith('filename="questions-a4.pdf"')


DATED = [kind for kind in KINDS.values() if getattr(kind, "dated", False)]


@pytest.mark.skipif(not DATED, reason="no dated kinds (calendar, diary) yet")
def test_a_dated_handout_starts_on_the_first_day_chosen(client):
    response = client.get(f"/download?kind={DATED[0].name}&drug=brigatinib&start=2026-12-01")
    assert response.status_code == 200
    assert "December 1, 2026" in text_of(response.data)
    undated = client.get(f"/download?kind={DATED[0].name}&drug=brigatinib")
    assert undated.status_code == 200 and undated.headers["ETag"] != response.headers["ETag"]


@pytest.mark.parametrize("query, says", [
    ("kind=leaflet", "handout kind called “leaflet”"),
    ("", "handout kind called “”"),
    ("kind=drug-sheet&drug=aspirin", "drug called “aspirin”"),
    ("kind=faq&drug=aspirin", "drug called “aspirin”"),
    ("kind=drug-sheet", "Please choose your medicine"),
    ("kind=faq&paper=a3", "paper size called “a3”"),
    ("kind=faq&profile=tiny", "print profile called “tiny”"),
    ("kind=faq&patient=Ana+Diaz", "only be added with the staff form"),
    ("kind=faq&start=2026-12-01", None),  # a first day is checked even where unused
    ("kind=faq&start=soon", "The first day must be a date"),
])
def test_anything_off_the_allow_lists_is_a_friendly_400(client, query, says):
    response = client.get(f"/download?{query}")
    if says is None:
        assert response.status_code == 200
        return
    page = assert_friendly_error(response, 400)
    assert says in page and response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("value", INJECTIONS)
def test_injection_in_a_choice_is_shown_as_text_never_run(client, value):
    page = assert_friendly_error(client.get("/download", query_string={"kind": value}), 400)
    assert str(escape(value)) in page  # shown, as text
    assert "<script>alert" not in page and "<img src=x" not in page and "“49”" not in page


# ---- personalised downloads ---------------------------------------------------------

def test_a_personalised_pdf_is_made_on_demand_never_stored_cached_or_logged(
        app, client, renders, caplog, tmp_path, monkeypatch):
    work, scratch = tmp_path / "cwd", tmp_path / "tmp"
    work.mkdir()
    scratch.mkdir()
    # A worker that starts makes WeasyPrint's font folder in the temp folder (fonts, not
    # anyone's data): start it first, so that what follows is one personalised request.
    pool = app.extensions["handouts"].pool
    pool.result(pool.submit(jobs.RenderJob("questions")))  # rendered, not kept
    warm_up = len(renders)
    monkeypatch.chdir(work)
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    caplog.set_level(logging.DEBUG)
    cached = len(app.extensions["handouts"].cache)
    form = {"kind": "drug-sheet", "drug": "ceritinib", "paper": "letter",
            "profile": "standard", "patient": "Zebulon Quartzfield", "prescriber": "Dr. Yarrow"}

    for _ in range(2):
        response = client.post("/personalised", data=form)
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        assert response.headers["Cache-Control"] == "no-store"
        assert "ETag" not in response.headers
        assert response.headers["Content-Disposition"] == (
            'attachment; filename="drug-sheet-ceritinib.pdf"')
        assert_secure(response)
        text = text_of(response.data)
        assert "Zebulon Quartzfield" in text and "Dr. Yarrow" in text
        assert "Ceritinib (Zykadia)" in text and CLINIC in text

    # Rendered in full once, without the names (the shared base, kept like any download);
    # each personalised download renders only its own cover on top of it.
    assert [(job.cover, job.patient, job.prescriber) for job in renders[warm_up:]] == [
        (True, None, None)]
    cache = app.extensions["handouts"].cache
    assert len(cache) == cached + 1
    assert not any("Zebulon" in text_of(pdf.data) for pdf in cache._items.values())
    # The cover template the names were grafted onto (graft.py): one, made by the first
    # download and used by the second, keyed by the shared render's hash and the start
    # date, holding no names.
    templates = app.extensions["handouts"].templates
    [(key, found)] = [(k, v) for k, v in templates._items.items()
                      if k[0] in {pdf.sha256 for pdf in cache._items.values()}]
    assert key[1] is None and len(found) == 1
    [template] = found.values()
    assert "Zebulon" not in text_of(template.data) and "Yarrow" not in text_of(template.data)
    assert "Zebulon" not in repr(templates._items.keys())
    assert list(work.iterdir()) == [] and list(scratch.iterdir()) == []
    assert "Zebulon" not in caplog.text and "Yarrow" not in caplog.text


def test_injection_strings_print_as_literal_text_in_the_pdf(client):
    for patient, prescriber in [(INJECTIONS[0], INJECTIONS[1]), (INJECTIONS[2], None)]:
        form = {"kind": "drug-sheet", "drug": "alectinib", "patient": patient}
        if prescriber:
            form["prescriber"] = prescriber
        response = client.post("/personalised", data=form)
        assert response.status_code == 200
        text = text_of(response.data)
        assert patient in text
        if prescriber:
            assert prescriber in text and "Prescriber: 49" not in text


@pytest.mark.parametrize("field", ["patient", "prescriber"])
@pytest.mark.parametrize("value", ["A" * 101, "Ana\nDiaz", "Ana\x00Diaz"])
def test_names_too_long_or_with_control_characters_are_400_and_never_echoed(
        client, renders, caplog, field, value):
    caplog.set_level(logging.DEBUG)
    response = client.post("/personalised", data={"kind": "faq", field: value})
    page = assert_friendly_error(response, 400)
    assert "at most 100 characters" in page
    assert value not in page and value not in caplog.text
    assert renders == []


def test_a_name_of_exactly_100_characters_is_accepted(client):
    name = "B" * 100
    response = client.post("/personalised", data={"kind": "drug-sheet", "drug": "brigatinib",
                                                  "patient": name})
    assert response.status_code == 200
    assert name in text_of(response.data).replace(" ", "")


def test_the_staff_form_checks_the_same_allow_lists(client):
    page = assert_friendly_error(client.post("/personalised", data={"kind": "drug-sheet",
                                                                     "drug": "aspirin",
                                                                     "patient": "Ana"}), 400)
    assert "aspirin" in page and "Ana" not in page.split("<main")[1]


def test_an_oversized_form_is_a_friendly_413(client):
    assert_friendly_error(client.post("/personalised", data={"kind": "faq",
                                                             "patient": "x" * 40_000}), 413)


# ---- failures -----------------------------------------------------------------------

def test_a_failed_render_is_a_500_with_a_reference_logged_without_the_name(
        client, monkeypatch, caplog):
    real = jobs.render_job

    def broken(builder, clinic, job):
        raise RuntimeError(f"layout exploded for {job.patient}")

    monkeypatch.setattr(jobs, "render_job", broken)
    caplog.set_level(logging.DEBUG)
    response = client.post("/personalised", data={"kind": "drug-sheet", "drug": "crizotinib",
                                                  "patient": "Zebulon Quartzfield"})
    page = assert_friendly_error(response, 500)
    ref = re.search(r'class="ref">([0-9A-F]{8})<', page)[1]
    assert ref in caplog.text and "drug-sheet crizotinib letter standard" in caplog.text
    assert "Zebulon" not in caplog.text and "Zebulon" not in page

    failed = client.get("/download?kind=drug-sheet&drug=crizotinib&paper=a4")
    page = assert_friendly_error(failed, 500)
    assert re.search(r'class="ref">([0-9A-F]{8})<', page)[1] in caplog.text

    monkeypatch.setattr(jobs, "render_job", real)
    recovered = client.get("/download?kind=drug-sheet&drug=crizotinib&paper=a4")
    assert recovered.status_code == 200
    assert "Crizotinib (Xalkori)" in text_of(recovered.data)


def _blocking_render(monkeypatch, started: threading.Event, release: threading.Event):
    """Renders of the FAQ wait until `release` is set; everything else renders normally."""
    real = jobs.render_job

    def render(builder, clinic, job):
        if job.kind == "faq":
            started.set()
            release.wait(timeout=60)
        return real(builder, clinic, job)

    monkeypatch.setattr(jobs, "render_job", render)


def test_a_full_queue_answers_503_with_retry_after_and_then_recovers(monkeypatch):
    app = create_app(None, workers=1, queue=0, in_process=True)
    client = app.test_client()
    try:
        assert client.get("/download?kind=questions").status_code == 200  # worker is warm
        started, release = threading.Event(), threading.Event()
        _blocking_render(monkeypatch, started, release)
        first: dict = {}
        waiting = threading.Thread(
            target=lambda: first.update(r=app.test_client().get("/download?kind=faq")))
        waiting.start()
        assert started.wait(timeout=60)
        busy = client.post("/personalised", data={"kind": "questions"})
        assert_friendly_error(busy, 503)
        assert busy.headers["Retry-After"].isdigit()
        assert client.get("/download?kind=questions").status_code == 200  # cached: no slot
        release.set()
        waiting.join(timeout=60)
        assert first["r"].status_code == 200
        assert client.post("/personalised", data={"kind": "questions"}).status_code == 200
    finally:
        release.set()
        app.extensions["handouts"].close()


def test_a_render_past_the_timeout_answers_503(monkeypatch):
    app = create_app(None, workers=1, timeout=0.01, in_process=True)
    started, release = threading.Event(), threading.Event()
    try:
        _blocking_render(monkeypatch, started, release)
        response = app.test_client().get("/download?kind=faq")
        assert_friendly_error(response, 503)
        assert "taking too long" in response.get_data(as_text=True)
    finally:
        release.set()
        app.extensions["handouts"].close()


def test_the_process_pool_renders_too(clinic):
    """What `handouts serve` uses: spawned worker processes, each with its own Builder."""
    app = create_app(clinic, workers=1)
    try:
        response = app.test_client().get("/download?kind=drug-sheet&drug=ensartinib")
        assert response.status_code == 200
        text = text_of(response.data)
        assert "Ensartinib (Ensacove)" in text and CLINIC in text
    finally:
        app.extensions["handouts"].close()


def test_a_dead_worker_is_replaced_and_the_server_keeps_serving():
    app = create_app(None, workers=1)
    client = app.test_client()
    try:
        assert client.get("/download?kind=questions").status_code == 200
        for worker in multiprocessing.active_children():
            os.kill(worker.pid, signal.SIGKILL)  # as the kernel's out-of-memory killer would
        # The next render may fail (500, with a reference) if it reached the dead worker;
        # the one after it is made by a fresh worker.
        first = client.get("/download?kind=faq")
        assert first.status_code in (200, 500)
        again = client.get("/download?kind=faq")
        assert again.status_code == 200 and again.data.startswith(b"%PDF-")
    finally:
        app.extensions["handouts"].close()


def test_help_imports_neither_flask_nor_weasyprint():
    code = ("import sys; from handouts.cli import cli\n"
            "for args in (['--help'], ['serve', '--help'], ['site', '--help']):\n"
            "    try:\n        cli(args)\n    except SystemExit:\n        pass\n"
            "bad = [m for m in ('flask', 'waitress', 'weasyprint') if m in sys.modules]\n"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
