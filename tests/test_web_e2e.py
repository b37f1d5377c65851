"""The download page in a real browser: `handouts serve` in a subprocess, Debian's Chromium
driven by Playwright, keyboard only, JavaScript off. Skipped only when Chromium or
Playwright is missing (.ci/run installs both).

The accessibility check runs in the browser and is written here (axe-core is not on PyPI):
page language and title, one h1 and no skipped heading levels, landmarks, a label for every
control, unique ids, alt text, link text, text contrast of at least 7:1 (WCAG AAA) computed
from the browser's own colours, targets of at least 24 px, a visible focus style on every
control, every control reachable with Tab, and no sideways scrolling on a phone.
"""

from __future__ import annotations

import http.client
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import pdf_text, write_clinic

CHROMIUM = Path("/usr/bin/chromium")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing")

CLINIC = "Riverside Lung Clinic"
ARTIFACTS = Path(__file__).resolve().parent.parent / "output" / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`handouts serve` (the installed console script) with a clinic, on a free port."""
    folder = tmp_path_factory.mktemp("serve")
    write_clinic(folder)
    port = free_port()
    log = (folder / "serve.log").open("wb")
    command = [str(Path(sys.executable).with_name("handouts")), "serve", "--clinic",
               str(folder / "clinic.yaml"), "--port", str(port), "--workers", "1"]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=folder)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, (folder / "serve.log").read_text()
        try:
            with urllib.request.urlopen(url + "/", timeout=5) as response:
                if response.status == 200:
                    break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    yield url
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    finally:
        log.close()
    assert process.returncode == 0, (folder / "serve.log").read_text()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A page with JavaScript switched off: downloading must not need it."""
    context = browser.new_context(java_script_enabled=False, accept_downloads=True,
                                  viewport={"width": 1000, "height": 900})
    yield context.new_page()
    context.close()


def tab_to(page, selector: str, limit: int = 60) -> None:
    """Press Tab until the element matching `selector` has focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement.matches({selector!r})"):
            return
    raise AssertionError(f"{selector} never received focus with Tab")


def test_keyboard_only_a_patient_downloads_their_medicine_sheet(server, page, tmp_path):
    page.goto(server + "/")
    tab_to(page, "#drug")
    page.keyboard.press("ArrowDown")  # Alectinib
    page.keyboard.press("ArrowDown")  # Brigatinib
    assert page.locator("#drug").input_value() == "brigatinib"
    tab_to(page, 'button[value="drug-sheet"]')
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    download = info.value
    assert download.suggested_filename == "drug-sheet-brigatinib.pdf"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF-")
    text = pdf_text(saved)
    assert "Brigatinib (Alunbrig)" in text and CLINIC in text


def test_keyboard_only_staff_print_a_named_copy(server, page, tmp_path):
    page.goto(server + "/")
    tab_to(page, "#staff-kind")
    page.keyboard.press("End")  # the last kind in the list
    tab_to(page, "#staff-drug")
    page.keyboard.press("End")  # Lorlatinib
    tab_to(page, "#staff-patient")
    page.keyboard.type("Ana Diaz")
    tab_to(page, '.staff button[type="submit"]')
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    saved = tmp_path / "named.pdf"
    info.value.save_as(saved)
    text = pdf_text(saved)
    assert "Ana Diaz" in text and "Lorlatinib" in text and CLINIC in text


AUDIT = r"""
() => {
  const problems = [];
  const visible = el => { const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return r.width > 1 && r.height > 1 && s.visibility !== 'hidden' && s.display !== 'none'; };
  if (!document.documentElement.lang) problems.push('no lang on <html>');
  if (!document.title.trim()) problems.push('no page title');

  const headings = [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')];
  if (document.querySelectorAll('h1').length !== 1) problems.push('not exactly one h1');
  let level = 0;
  for (const h of headings) {
    const next = Number(h.tagName[1]);
    if (next > level + 1) problems.push(`heading skips a level: ${h.tagName} "${h.textContent}"`);
    if (!h.textContent.trim()) problems.push(`empty ${h.tagName}`);
    level = next;
  }
  for (const tag of ['header', 'main', 'footer'])
    if (document.querySelectorAll(`body > ${tag}`).length !== 1) problems.push(`need one ${tag}`);

  const ids = [...document.querySelectorAll('[id]')].map(el => el.id);
  if (new Set(ids).size !== ids.length) problems.push('duplicate ids');
  for (const el of document.querySelectorAll('[aria-describedby],[aria-labelledby]'))
    for (const ref of ((el.getAttribute('aria-describedby') || '') + ' ' +
                       (el.getAttribute('aria-labelledby') || '')).split(/\s+/).filter(Boolean))
      if (!document.getElementById(ref)) problems.push(`aria reference to missing #${ref}`);

  for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
    const names = [...el.labels].map(l => l.textContent.trim()).filter(Boolean);
    if (!names.length && !el.getAttribute('aria-label'))
      problems.push(`control without a label: ${el.name}`);
  }
  for (const el of document.querySelectorAll('button, a'))
    if (!el.textContent.trim() && !el.querySelector('img[alt]:not([alt=""])'))
      problems.push(`${el.tagName} without text`);
  for (const img of document.querySelectorAll('img'))
    if (!img.hasAttribute('alt')) problems.push(`img without alt: ${img.src}`);

  // Contrast: each visible element's own text against the first opaque background behind it.
  const rgb = c => c.match(/[\d.]+/g).map(Number);
  const luminance = ([r, g, b]) => {
    const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = el => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length < 4 || c[3] === 1) return c.slice(0, 3);
      if (c[3] > 0) return null;  // translucent: not handled, reported below
    }
    return [255, 255, 255];
  };
  let checked = 0;
  for (const el of document.body.querySelectorAll('*')) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || !visible(el)) continue;
    const fg = rgb(getComputedStyle(el).color), bg = background(el);
    if (!bg) {
      problems.push(`translucent background behind "${el.textContent.trim()}"`);
      continue;
    }
    const [hi, lo] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    checked++;
    if (ratio < 7) problems.push(`contrast ${ratio.toFixed(2)} < 7: "${el.textContent.trim()}"`);
  }
  if (checked < 20) problems.push(`only ${checked} text elements checked`);

  for (const el of document.querySelectorAll('button, select, input:not([type=hidden]), nav a')) {
    const r = el.getBoundingClientRect();
    if (r.height < 24 || r.width < 24) problems.push(`target under 24 px: ${el.name || el.id}`);
  }
  return problems;
}
"""

FOCUSABLE = "a[href], button, select, input:not([type=hidden]), [tabindex]:not([tabindex='-1'])"


def test_the_page_passes_an_accessibility_audit_in_the_browser(server, browser):
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    page = context.new_page()
    try:
        page.goto(server + "/")
        assert page.evaluate(AUDIT) == []

        # Every control is reachable with Tab, in order, and shows a visible focus style.
        expected = page.evaluate(f"[...document.querySelectorAll({FOCUSABLE!r})].length")
        reached, unstyled = set(), []
        for _ in range(expected * 5):
            page.keyboard.press("Tab")
            key, styled = page.evaluate("""(focusable) => {
                const el = document.activeElement, s = getComputedStyle(el);
                const all = [...document.querySelectorAll(focusable)];
                return [all.indexOf(el),
                        s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2
                        || s.boxShadow !== 'none'];
            }""", FOCUSABLE)
            if key >= 0:
                reached.add(key)
                if not styled:
                    unstyled.append(key)
        assert reached == set(range(expected))
        assert unstyled == []
    finally:
        context.close()


def test_the_page_is_readable_on_a_phone_and_a_screenshot_is_saved(server, browser):
    context = browser.new_context(viewport={"width": 375, "height": 740},
                                  device_scale_factor=2, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(server + "/")
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], f"sideways scrolling on a phone: {widths}"
        body_px = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
        assert body_px >= 18
        assert page.evaluate(AUDIT) == []
    finally:
        context.close()
    context = browser.new_context(viewport={"width": 900, "height": 1200})
    page = context.new_page()
    try:
        page.goto(server + "/")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "download-page.png"), full_page=True)
    finally:
        context.close()
    assert (ARTIFACTS / "download-page.png").stat().st_size > 10_000


@pytest.mark.parametrize("path", ["/static/../pyproject.toml", "/%2e%2e/%2e%2e/etc/passwd",
                                  "//etc/passwd", "/static/%2e%2e/%2e%2e/pyproject.toml",
                                  "/static/..%2f..%2fpyproject.toml"])
def test_raw_traversal_requests_to_the_real_server_are_404(server, path):
    host, port = server.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", path)  # sent exactly as written, no normalising
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    assert response.status == 404
    assert b"[build-system]" not in body and b"root:" not in body
    assert response.getheader("Content-Security-Policy", "").startswith("default-src 'none'")
    assert response.getheader("X-Content-Type-Options") == "nosniff"



# ---- the Spanish edition ---------------------------------------------------------------

@pytest.fixture(scope="module")
def server_es(tmp_path_factory):
    """`handouts serve` over content with its Spanish folder (see tests/spanish.py)."""
    from spanish import spanish_content

    folder = tmp_path_factory.mktemp("serve-es")
    write_clinic(folder)
    content, _ = spanish_content(folder / "content")
    port = free_port()
    log = (folder / "serve.log").open("wb")
    command = [str(Path(sys.executable).with_name("handouts")), "serve", "--clinic",
               str(folder / "clinic.yaml"), "--port", str(port), "--workers", "1",
               "--content-dir", str(content)]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=folder)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, (folder / "serve.log").read_text()
        try:
            with urllib.request.urlopen(url + "/", timeout=5):
                break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    yield url
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    log.close()


def test_a_spanish_browser_gets_the_spanish_page_and_downloads_a_spanish_sheet(
        server_es, browser, tmp_path):
    """Accept-Language picks Spanish; keyboard only, no JavaScript; the PDF is Spanish."""
    context = browser.new_context(java_script_enabled=False, accept_downloads=True,
                                  locale="es-US", viewport={"width": 1000, "height": 900})
    page = context.new_page()
    try:
        page.goto(server_es + "/")
        assert page.locator("html").get_attribute("lang") == "es"
        assert page.locator("h1").inner_text() == "Folletos sobre el cáncer de pulmón ALK positivo"
        assert page.locator('nav.languages a[hreflang="en"]').inner_text() == "English"
        assert page.evaluate(AUDIT) == []
        tab_to(page, "#drug")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowDown")
        assert page.locator("#drug").input_value() == "brigatinib"
        tab_to(page, 'button[value="drug-sheet"]')
        assert "Descargar: Hoja de la medicina (PDF)" in page.locator(
            'button[value="drug-sheet"]').inner_text()
        with page.expect_download() as info:
            page.keyboard.press("Enter")
        download = info.value
        assert download.suggested_filename == "drug-sheet-brigatinib-es.pdf"
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
        text = pdf_text(saved)
        assert "Puntos clave" in text and "Página 1 de" in text and CLINIC in text
    finally:
        context.close()


def test_the_language_switch_works_with_the_keyboard(server_es, page):
    page.goto(server_es + "/?lang=en")
    assert page.locator("html").get_attribute("lang") == "en"
    tab_to(page, 'nav.languages a[hreflang="es"]')
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.url.endswith("/?lang=es")
    assert page.locator("h2#choices-heading").inner_text() == "Paso 1: Elija sus opciones"
