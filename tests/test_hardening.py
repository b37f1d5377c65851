"""Careless and hostile input, by class (issue 11): every user-caused failure is one line on
stderr and a non-zero exit code, never a traceback and never a lost, swapped or
half-written file. Each class has several members, and a test covers each."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import pdf_text
from handouts.check import HandoutReport, Report, Section, report_text
from handouts.cli import Eta, cli
from handouts.errors import HandoutError, OutputError, RenderError
from handouts.files import write_atomic
from handouts.pack import load_pack
from handouts.readability import score
from handouts.render import Renderer

ROOT = Path(__file__).resolve().parent.parent
TINY_PACK = "items:\n  - kinds: [faq]\n"


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def one_line_error(result, code: int = 1) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    return lines[0]


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")}


# ---- output folders that cannot be made ------------------------------------------------

def _blocker(tmp_path: Path) -> Path:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    return blocker


IN_THE_WAY = (1, "cannot write to folder")  # our check, after parsing
IS_A_FILE = (2, "is a file")  # Click's own check of a folder option


@pytest.mark.parametrize("args, expected", [
    (["build", "faq", "-o", "{blocker}/x.pdf"], IN_THE_WAY),
    (["build", "faq", "--out-dir", "{blocker}/sub"], IN_THE_WAY),
    (["build", "faq", "--out-dir", "{blocker}"], IS_A_FILE),
    (["build", "--all", "--out-dir", "{blocker}/sub"], IN_THE_WAY),
    (["pack", "{pack}", "--out", "{blocker}/sub"], IN_THE_WAY),
    (["pack", "{pack}", "--out", "{blocker}"], IS_A_FILE),
    (["site", "--out", "{blocker}/sub"], IN_THE_WAY),
    (["site", "--out", "{blocker}"], IS_A_FILE),
])
def test_an_output_folder_that_cannot_be_made_is_one_line(tmp_path, args, expected):
    blocker = _blocker(tmp_path)
    pack = tmp_path / "pack.yaml"
    pack.write_text(TINY_PACK)
    before = files_under(tmp_path)
    result = run(*[a.format(blocker=blocker, pack=pack) for a in args])
    code, says = expected
    line = one_line_error(result, code)
    assert says in line and str(blocker) in line
    assert files_under(tmp_path) == before and blocker.read_text() == "not a folder"


def test_a_cache_folder_that_cannot_be_made_is_one_line(tmp_path):
    blocker = _blocker(tmp_path)
    (tmp_path / "patients.csv").write_text("name,drug\nAna Diaz,alectinib\n")
    pack = tmp_path / "pack.yaml"
    pack.write_text("packet: [drug-sheet]\npatients: patients.csv\n")
    before = files_under(tmp_path)
    line = one_line_error(run("pack", str(pack), "--out", str(tmp_path / "out"),
                              "--cache", str(blocker / "cache")))
    assert "cannot write to folder" in line and str(blocker) in line
    assert files_under(tmp_path) == before


@pytest.mark.parametrize("args, expected", [
    (["pack", "pack.yaml"], (1, "cannot write to folder output")),
    (["site"], (1, "cannot write to folder output/site")),
    (["build", "faq"], (2, "'output' is a file")),
    (["build", "faq", "--patient", "Ana Diaz"], (2, "'output' is a file")),
])
def test_default_output_folders_when_output_is_a_file(tmp_path, monkeypatch, args, expected):
    monkeypatch.chdir(tmp_path)
    Path("output").write_text("a file where the folder should be")
    Path("pack.yaml").write_text(TINY_PACK)
    code, says = expected
    assert says in one_line_error(run(*args), code)
    assert Path("output").read_text() == "a file where the folder should be"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into a read-only folder")
def test_a_read_only_folder_is_one_line(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    pack = tmp_path / "pack.yaml"
    pack.write_text(TINY_PACK)
    try:
        for args in (["pack", str(pack), "--out", str(locked / "out")],
                     ["site", "--out", str(locked / "site")],
                     ["build", "faq", "-o", str(locked / "x.pdf")]):
            assert "Permission denied" in one_line_error(run(*args))
    finally:
        locked.chmod(0o755)


# ---- files that are not files ----------------------------------------------------------

def _not_files(tmp_path: Path) -> dict[str, Path]:
    targets = {}
    fifo = tmp_path / "pipe.pdf"
    os.mkfifo(fifo)
    targets["a named pipe"] = fifo
    real = tmp_path / "real.pdf"
    real.write_bytes(b"someone else's file")
    link = tmp_path / "link.pdf"
    link.symlink_to(real)
    targets["a symbolic link"] = link
    dangling = tmp_path / "dangling.pdf"
    dangling.symlink_to(tmp_path / "nowhere.pdf")
    targets["a symbolic link "] = dangling  # a link to nothing yet is still a link
    try:
        device = tmp_path / "null.pdf"
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # like /dev/null
        targets["a device"] = device
    except (PermissionError, OSError):
        pass
    return targets


def test_write_refuses_anything_but_a_regular_file_or_a_new_path(tmp_path):
    for kind, target in _not_files(tmp_path).items():
        before = os.lstat(target)
        with pytest.raises(OutputError, match=f"it is {kind.strip()}, not a regular file"):
            write_atomic(target, b"%PDF")
        after = os.lstat(target)
        assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode), kind
    assert (tmp_path / "real.pdf").read_bytes() == b"someone else's file"
    assert not (tmp_path / "nowhere.pdf").exists()
    with pytest.raises(OutputError, match="it is a folder"):
        write_atomic(tmp_path, b"%PDF")
    write_atomic(tmp_path / "new.pdf", b"%PDF")  # a new path, and a regular file, are fine
    write_atomic(tmp_path / "new.pdf", b"%PDF-2")
    assert (tmp_path / "new.pdf").read_bytes() == b"%PDF-2"
    assert not list(tmp_path.glob(".*.part"))


def test_dash_o_at_a_pipe_or_link_is_one_line_and_leaves_it_alone(tmp_path):
    for kind, target in _not_files(tmp_path).items():
        line = one_line_error(run("build", "faq", "-o", str(target)))
        assert "not a regular file" in line, kind
        assert not stat.S_ISREG(os.lstat(target).st_mode)
    result = run("build", "faq", "-o", str(tmp_path))  # a folder: Click's own check
    assert "is a directory" in one_line_error(result, 2)


# ---- a filled-in handout never takes another file's name ---------------------------------

def test_a_personalised_build_never_replaces_the_blank_handout_or_another_patient(tmp_path):
    blank = tmp_path / "drug-sheet-lorlatinib.pdf"
    blank.write_bytes(b"the blank handout")
    personal = tmp_path / "personal"

    def build(*extra):
        result = run("build", "drug-sheet", "--drug", "lorlatinib", "--out-dir", str(tmp_path),
                     *extra)
        assert result.exit_code == 0, result.output
        return Path(result.output.split()[1])

    ana = build("--patient", "Ana Diaz")
    assert ana == personal / "drug-sheet-lorlatinib-ana-diaz.pdf"
    assert "Ana Diaz" in pdf_text(ana)
    other_ana = build("--patient", "Ana Díaz", "--prescriber", "Dr. Lee")
    assert other_ana == personal / "drug-sheet-lorlatinib-ana-diaz-2.pdf"
    assert "Ana Diaz" in pdf_text(ana)  # the first patient's file is untouched
    doctor_only = build("--prescriber", "Dr. Lee")
    assert doctor_only == personal / "drug-sheet-lorlatinib-filled-in.pdf"
    assert blank.read_bytes() == b"the blank handout"
    assert build() == blank and blank.read_bytes().startswith(b"%PDF")  # blank stays blank
    assert "Ana" not in pdf_text(blank)


def test_build_all_with_a_patient_writes_only_into_personal(tmp_path):
    result = run("build", "--all", "--date", "2026-12-01", "--out-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert {p.parent.name for p in tmp_path.rglob("*.pdf")} == {"personal"}


# ---- two outputs, one path ------------------------------------------------------------

def _site(folder: Path, name: str = "clinic.yaml") -> str:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(f"name: {folder.name} site\n")
    return f"{folder.name}/{name}"


@pytest.mark.parametrize("first, second", [
    (("north", "clinic.yaml"), ("south", "clinic.yaml")),  # same name, two folders
    (("sites", "Clinic.yaml"), ("sites", "clinic.yaml")),  # names differing only in case
    (("sites", "south west.yaml"), ("sites", "south-west.yaml")),  # one slug
])
def test_two_clinic_files_that_would_share_a_folder_are_refused(tmp_path, builder,
                                                               first, second):
    a, b = _site(tmp_path / first[0], first[1]), _site(tmp_path / second[0], second[1])
    pack = tmp_path / "pack.yaml"
    pack.write_text(f"items:\n  - kinds: [faq]\n    clinic: {a}\n"
                    f"  - kinds: [questions]\n    clinic: {b}\n")
    with pytest.raises(HandoutError, match=r"items\.1\.clinic: .* would write into the folder"):
        load_pack(pack, builder)


def test_the_same_clinic_file_in_two_items_is_fine(tmp_path, builder):
    a = _site(tmp_path / "north")
    pack = tmp_path / "pack.yaml"
    pack.write_text(f"items:\n  - kinds: [faq]\n    clinic: {a}\n"
                    f"  - kinds: [questions]\n    clinic: ./{a}\n")
    assert len(load_pack(pack, builder).jobs) == 2


@pytest.mark.parametrize("items", [
    "  - kinds: [drug-sheet]\n    drugs: [brigatinib, Alunbrig]\n",  # generic and brand
    "  - kinds: [faq]\n  - kinds: [faq]\n    papers: [letter]\n",  # two items, one file
])
def test_one_handout_named_twice_in_a_pack_is_refused(tmp_path, builder, items):
    pack = tmp_path / "pack.yaml"
    pack.write_text("items:\n" + items)
    with pytest.raises(HandoutError, match="would be made twice"):
        load_pack(pack, builder)


# ---- untrusted structure in YAML files ----------------------------------------------------

def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


BOMB = ("a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c]\n"
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e]\n")


@pytest.mark.parametrize("text, says", [
    ("name: x\nlogo_alt: " + _nested(50_000) + "\n", "nested too deeply"),
    ("name: x\nlogo_alt: " + _nested(60) + "\n", "nested too deeply"),
    ("name: x\n" + BOMB, "too large"),
    ("name: x\nlogo: \"a\\0b.png\"\n", "logo: must be a file name without control characters"),
    ("name: x\nlogo: \"a\\nb.png\"\n", "logo: must be a file name without control characters"),
    ("name: \"River\\0side\"\n", "name: must be one line of text, without control"),
    ("name: x\nphone: \"555\\x1b[31m\"\n", "phone: must be one line of text"),
    ("name: x\nwhen: 2026-02-30\n", "a date that does not exist"),
    ("- just\n- a list\n", "must be a YAML mapping"),
])
def test_a_hostile_clinic_file_is_one_line(tmp_path, text, says):
    clinic = tmp_path / "clinic.yaml"
    clinic.write_text(text)
    line = one_line_error(run("build", "faq", "--clinic", str(clinic), "-o",
                              str(tmp_path / "x.pdf")))
    assert str(clinic) in line and says in line
    assert not (tmp_path / "x.pdf").exists()


@pytest.mark.parametrize("text, says", [
    ("items:\n  - kinds: " + _nested(50_000) + "\n", "nested too deeply"),
    (BOMB + "items:\n  - kinds: [faq]\n", "too large"),
    ("clinic: \"a\\0b.yaml\"\nitems:\n  - kinds: [faq]\n", "clinic: must be a file name"),
    ("patients: \"p\\0.csv\"\n", "patients: must be a file name"),
    ("items:\n  - kinds: [faq]\n    clinic: \"a\\0b\"\n", "items.0.clinic: must be a file name"),
    ("date: 2026-02-30\nitems:\n  - kinds: [faq]\n", "a date that does not exist"),
    ("date: 9999-12-25\nitems:\n  - kinds: [faq]\n", "date: must be a date from 2000-01-01"),
    ("items:\n  - kinds: [calendar]\n    drugs: [brigatinib]\n    start: 9999-12-25\n",
     "items.0.start: must be a date from 2000-01-01 to 2099-12-31"),
    ("items:\n  - kinds: [faq]\n    fax: 1\n", "see README.md, 'Clinic packs'"),
])
def test_a_hostile_pack_file_is_one_line(tmp_path, text, says):
    pack = tmp_path / "pack.yaml"
    pack.write_text(text)
    line = one_line_error(run("pack", str(pack), "--out", str(tmp_path / "out")))
    assert says in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("text, says", [
    ("version: " + _nested(50_000) + "\n", "nested too deeply"),
    (BOMB, "too large"),
])
def test_a_hostile_content_file_is_one_line(content_copy, tmp_path, text, says):
    (content_copy / "faq.yaml").write_text(text)
    line = one_line_error(run("build", "faq", "--content-dir", str(content_copy),
                              "-o", str(tmp_path / "x.pdf")))
    assert "faq.yaml" in line and says in line


def test_a_csv_date_near_the_end_of_the_calendar_fails_its_row_alone(tmp_path, builder):
    (tmp_path / "patients.csv").write_text(
        "name,drug,start\nAna Diaz,alectinib,9999-12-25\nSam Okafor,alectinib,2026-02-30\n"
        "Mei Chen,brigatinib,2026-12-07\n")
    pack = tmp_path / "pack.yaml"
    pack.write_text("patients: patients.csv\npacket: [calendar]\n")
    loaded = load_pack(pack, builder)
    assert [job.label for job in loaded.jobs] == ["row 4"]
    problems = dict(loaded.problems)
    assert "start must be from 2000-01-01 to 2099-12-31" in problems["row 2"]
    assert "start names a day that does not exist" in problems["row 3"]
    assert "Ana" not in str(loaded.problems) and "Sam" not in str(loaded.problems)


@pytest.mark.parametrize("args, says", [
    (["build", "faq", "--date", "2026-02-30"], "--date names a day that does not exist"),
    (["build", "faq", "--date", "22/11/2026"], "--date must be a date written YYYY-MM-DD"),
    (["build", "faq", "--date", "9999-12-31"], "--date must be from 2000-01-01 to 2099-12-31"),
    (["build", "calendar", "--drug", "brigatinib", "--start", "9999-12-25"],
     "--start must be from 2000-01-01 to 2099-12-31"),
    (["build", "diary", "--drug", "brigatinib", "--start", "0001-01-01"],
     "--start must be from 2000-01-01"),
])
def test_dates_that_do_not_exist_or_no_clinic_means_are_one_line(tmp_path, args, says):
    line = one_line_error(run(*args, "--out-dir", str(tmp_path)), 2)
    assert says in line
    assert not list(tmp_path.rglob("*.pdf"))


def test_the_last_allowed_start_still_builds(tmp_path):
    result = run("build", "calendar", "--drug", "brigatinib", "--start", "2099-12-31",
                 "--weeks", "12", "-o", str(tmp_path / "c.pdf"))
    assert result.exit_code == 0, result.output


# ---- templates cannot escape -----------------------------------------------------------

@pytest.mark.parametrize("attack", [
    "{{ cycler.__init__.__globals__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{% set x = [] %}{{ x.append(1) }}",
])
def test_an_override_template_cannot_reach_python_internals(tmp_path, attack):
    (tmp_path / "_partials").mkdir()
    (tmp_path / "_partials" / "end_matter.html.j2").write_text(attack)
    line = one_line_error(run("build", "faq", "--templates-dir", str(tmp_path),
                              "-o", str(tmp_path / "x.pdf")))
    assert "template tried something templates may not do" in line
    assert "__builtins__" not in line and "uid=" not in line
    assert not (tmp_path / "x.pdf").exists()


def test_a_template_that_includes_itself_is_one_render_error(tmp_path):
    (tmp_path / "_partials").mkdir()
    (tmp_path / "_partials" / "end_matter.html.j2").write_text(
        '{% include "_partials/end_matter.html.j2" %}')
    renderer = Renderer(ROOT / "templates", tmp_path)
    with pytest.raises(RenderError, match="cannot be rendered"):
        renderer.render({}, "_partials/end_matter.html.j2")


# ---- serve: the address must be ours before we say so ----------------------------------

def test_serve_on_a_busy_port_or_unknown_host_is_one_line_and_never_says_serving():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        for args, says in ((["--port", port], "Address already in use"),
                           (["--host", "no-such-host.invalid"], "cannot listen on"),
                           (["--host", "192.0.2.1"], "cannot listen on")):  # not ours
            result = run("serve", "--workers", "1", *args)
            line = one_line_error(result)
            assert says in line and "serving" not in result.output


# ---- smaller promises ------------------------------------------------------------------

def test_the_contents_list_never_repeats_a_title(tmp_path):
    out = tmp_path / "visit.pdf"
    assert run("build", "faq", "questions", "-o", str(out)).exit_code == 0
    first_page = pdf_text(out)[:1500]
    assert "Questions to ask your doctor (Questions to ask your doctor)" not in first_page
    assert "Questions to ask your doctor" in first_page


def test_check_shows_whole_section_titles():
    long_title = "What to do if you miss a dose or are sick to your stomach after taking it"
    report = Report(handouts=[HandoutReport("faq", 8, [
        Section(long_title, "faq.yaml:sections.0", score(["Take it with food."]))])])
    text = report_text(report, strict=False)
    assert long_title in text
    header = text.splitlines()[1]
    assert header.index("words") == 2 + len(long_title) + 1  # the columns move over


def test_help_says_what_each_exit_code_means():
    text = run("--help").output
    for code in ("0 ", "1 ", "2 ", "130"):
        assert f"  {code}" in text
    assert "Exit codes:" in text


def test_the_first_eta_ignores_worker_start_up():
    now = [0.0]
    eta = Eta(40, workers=2, clock=lambda: now[0])
    assert eta.seconds_left() is None and eta.text() == "estimating time left"
    now[0] = 10.0  # two workers spent 9 s starting; each job takes them 1 s
    eta.finished()
    eta.finished()
    assert eta.seconds_left() is None  # the first batch says nothing about the pace
    for _ in range(2):
        now[0] += 1.0
        eta.finished()
        eta.finished()
        # 2 jobs a second from here on: the truth is (40 - done) / 2 seconds
        assert eta.seconds_left() == pytest.approx((40 - eta.done) / 2)
    while eta.done < 40:
        now[0] += 0.5
        eta.finished()
    assert eta.seconds_left() == 0 and eta.text() == ""


def test_a_clinic_field_error_points_at_the_page_that_lists_the_fields(tmp_path):
    clinic = tmp_path / "clinic.yaml"
    clinic.write_text("name: Riverside\nfax: 1\n")
    line = one_line_error(run("build", "faq", "--clinic", str(clinic)))
    assert "see docs/clinic-file.md" in line
    assert (ROOT / "docs" / "clinic-file.md").is_file()
    documented = (ROOT / "docs" / "clinic-file.md").read_text()
    from handouts.options import ClinicFile
    for field in ClinicFile.model_fields:
        assert f"`{field}`" in documented


# ---- the download page ------------------------------------------------------------------

@pytest.fixture(scope="module")
def app():
    from handouts.web import create_app

    app = create_app(None, workers=1, in_process=True)
    yield app
    app.extensions["handouts"].close()


@pytest.mark.parametrize("start", ["9999-12-25", "0001-01-01", "2026-02-30", "2026-13-01"])
def test_a_first_day_off_the_calendar_is_a_friendly_400_on_the_web(app, start):
    response = app.test_client().get(
        f"/download?kind=calendar&drug=brigatinib&start={start}", buffered=True)
    assert response.status_code == 400
    assert "The first day must be a date" in response.get_data(as_text=True)


def test_requests_are_logged_without_query_form_or_name(app, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="handouts.web.access")
    client = app.test_client()
    client.get("/?note=Zebulon", buffered=True)
    form = {"kind": "faq", "patient": "Zebulon Quartzfield", "prescriber": "Dr. Yarrow"}
    assert client.post("/personalised", data=form, buffered=True).status_code == 200
    client.get("/Zebulon-Quartzfield.pdf", buffered=True)  # a mistyped address holding a name
    lines = [r.getMessage() for r in caplog.records if r.name == "handouts.web.access"]
    assert len(lines) == 3
    assert lines[0].startswith("GET / 200 ") and lines[0].endswith(" ms")
    assert lines[1].startswith("POST /personalised 200 ")
    assert lines[2].startswith("GET (other path, 24 characters) 404 ")
    assert "Zebulon" not in caplog.text and "Yarrow" not in caplog.text
    assert "note=" not in caplog.text


def test_while_draining_new_requests_get_a_friendly_503_with_retry_after(app):
    gate = app.extensions["handouts.gate"]
    gate.draining = True
    try:
        response = app.test_client().get("/download?kind=faq", buffered=True)
    finally:
        gate.draining = False
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "restarting" in response.get_data(as_text=True)
    assert gate.in_flight == 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _raw(port: int, request: bytes) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(request)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode("latin-1")


SERVER = """
import logging, pathlib, sys, time
from handouts.web import create_app, jobs
from handouts.web.serve import serve

here = pathlib.Path(sys.argv[2])
real_render, real_compose = jobs.render_job, jobs.compose_job

def hold(job):  # a patient's render (whole or composed) waits for the test's go-ahead
    if job.patient:
        (here / "started").touch()
        while not (here / "go").exists():
            time.sleep(0.05)

def held_render(builder, clinic, job):
    hold(job)
    return real_render(builder, clinic, job)

def held_compose(builder, clinic, job, *rest):
    hold(job)
    return real_compose(builder, clinic, job, *rest)

jobs.render_job, jobs.compose_job = held_render, held_compose
logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
app = create_app(None, workers=1, in_process=True)
try:
    serve(app, "127.0.0.1", int(sys.argv[1]), 8,
          lambda url: print("serving on", url, file=sys.stderr, flush=True))
finally:
    app.extensions["handouts"].close()
"""


def _wait_for(path: Path, server) -> None:
    import time

    deadline = time.monotonic() + 120
    while not path.exists():
        assert server.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)


def test_the_server_itself_answers_errors_securely_and_drains_on_sigterm(tmp_path):
    """A real waitress server (renders held until the test says go): waitress's own 400
    and 413 carry the security headers; SIGTERM during a render lets it finish (200),
    turns a new visitor away with 503 and Retry-After, and the process exits 0 without a
    traceback, a 500 or the patient's name in its log."""
    import signal
    import subprocess
    import sys
    import threading

    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port), str(tmp_path)],
                              stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        assert "serving on" in server.stderr.readline()
        bad = _raw(port, b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")
        huge = _raw(port, b"POST /personalised HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Length: 10000000\r\n\r\n")
        for answer, status in ((bad, "400"), (huge, "413")):
            head = answer.split("\r\n\r\n")[0]
            assert head.startswith(f"HTTP/1.1 {status}"), head
            for header in ("Content-Security-Policy: default-src 'none'",
                           "X-Content-Type-Options: nosniff", "Referrer-Policy: no-referrer",
                           "X-Frame-Options: DENY"):
                assert header in head, (status, head)

        results = {}
        body = b"kind=faq&patient=Ana+Diaz"
        post = (b"POST /personalised HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        render = threading.Thread(target=lambda: results.setdefault("render", _raw(port, post)))
        render.start()
        _wait_for(tmp_path / "started", server)
        server.send_signal(signal.SIGTERM)
        refused = _raw(port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        (tmp_path / "go").touch()
        render.join(120)
        assert server.wait(120) == 0
        log = server.stderr.read()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert results["render"].startswith("HTTP/1.1 200"), results["render"][:300]
    assert "%PDF" in results["render"]
    assert refused.startswith("HTTP/1.1 503") and "Retry-After: 30" in refused
    assert "Content-Security-Policy" in refused
    assert "Traceback" not in log and " 500 " not in log and "Ana" not in log
    assert "POST /personalised 200" in log and "GET / 503" in log


def test_a_request_that_never_finishes_arriving_is_closed_at_the_deadline():
    import time

    from handouts.web import serve

    class Channel:
        def __init__(self, started, requests=()):
            self.request_started, self.requests, self.will_close = started, list(requests), False

    class Server:
        def __init__(self, channels):
            self.active_channels = dict(enumerate(channels))

    class Idle:  # waitress's own idle check, which the deadline adds to
        def maintenance(self, now):
            self.checked = now

    now = time.monotonic()
    trickling = Channel(now - serve.REQUEST_DEADLINE - 1)  # a slowloris
    arriving = Channel(now - 1)  # a request still coming in, within its time
    answered = Channel(now - serve.REQUEST_DEADLINE - 1, requests=["complete"])  # served
    idle = Channel(None)  # between requests: waitress's channel_timeout handles it
    server = Server([trickling, arriving, answered, idle])
    server.__class__ = type("S", (Server, Idle), {})
    serve._close_overdue(server, time.time())
    assert server.checked  # waitress's own check still ran
    assert [c.will_close for c in (trickling, arriving, answered, idle)] == [
        True, False, False, False]


def test_a_channel_knows_when_its_unfinished_request_began():
    from waitress.adjustments import Adjustments

    from handouts.web.serve import LIMITS, _Channel

    class Server:
        def __init__(self):
            self.tasks, self.active_channels = [], {}

        def add_task(self, channel):
            self.tasks.append(channel)

    ours, theirs = socket.socketpair()
    try:
        channel = _Channel(Server(), ours, ("127.0.0.1", 1), Adjustments(**LIMITS), map={})
        assert channel.request_started is None
        channel.received(b"GET / HTTP/1.1\r\nHo")  # a request begins, and stalls
        assert channel.request_started is not None
        channel.received(b"st: x\r\n\r\n")  # and is complete: nothing is overdue
        assert channel.request_started is None and len(channel.requests) == 1
    finally:
        ours.close()
        theirs.close()
