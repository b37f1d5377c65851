"""The README is true to the letter: every `handouts …` command in its shell blocks runs as
written, from a copy of the repository root, in order (so re-runs are incremental, as for a
user), and does what its `# -> …` comment says.

How: each command line (continuations joined; after `&&` too, e.g. `pip install . &&
handouts pack …`) is run by bash in a temporary folder holding a copy of `packs/`, with the
installed `handouts` first on PATH and the batch variables the sharding examples read set
(the Slurm line runs once per array task, SLURM_ARRAY_TASK_ID=1 to 4, so that `manifest
combine` finds every shard; JOB_COMPLETION_INDEX=1). `serve` lines are started, must print
"serving on", answer the page, then stop on SIGTERM with exit code 0; if their port is
taken by something else on this machine, that one command is skipped, saying so. Lines that
only pass `handouts` to another program (`parallel … handouts …`) are not run.

All of them run by default (CI included): about 4 minutes on two cores, most of it the
pack, site and --all lines, which are marked `slow`; `pytest -m "not slow"` leaves those
out of a quick local run.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def readme_commands() -> list[str]:
    commands = []
    for block in re.findall(r"```(?:bash|sh|shell)\n(.*?)```", README.read_text(), re.S):
        for line in block.replace("\\\n", " ").splitlines():
            for part in line.split("&&"):
                part = part.strip()
                if part.startswith("handouts "):
                    commands.append(part)
    return commands


COMMANDS = readme_commands()


def _heavy(command: str) -> bool:
    """Commands that render tens of PDFs (about 4 minutes together on two cores)."""
    return command.split()[1] in ("pack", "site", "manifest") or " --all" in command


def test_the_readme_has_commands_for_every_subcommand():
    used = {command.split()[1] for command in COMMANDS}
    assert {"list", "build", "check", "pack", "serve", "site"} <= used


def test_the_readme_clinic_example_is_the_shipped_file():
    example = (ROOT / "packs" / "example-clinic.yaml").read_text()
    assert f"```yaml\n{example}```" in README.read_text()
    assert (ROOT / "packs" / "riverside-logo.png").is_file()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("readme")
    shutil.copytree(ROOT / "packs", folder / "packs")
    return folder


def _env() -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
           "SLURM_ARRAY_TASK_ID": "1", "JOB_COMPLETION_INDEX": "1"}
    if (ROOT / "src" / "handouts").is_dir():  # a checkout: test this tree, not an install
        env["PYTHONPATH"] = str(ROOT / "src")
    for name in ("HANDOUTS_CONTENT_DIR", "HANDOUTS_TEMPLATES_DIR"):
        env.pop(name, None)
    return env


def _serve(command: str, cwd: Path) -> None:
    port = re.search(r"--port (\d+)", command)
    url = f"http://127.0.0.1:{port[1] if port else 8000}/"
    server = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=cwd, env=_env(),
                              stderr=subprocess.PIPE, text=True)
    try:
        first = server.stderr.readline()
        if "Address already in use" in first:
            server.wait(60)
            pytest.skip(f"{url} is taken by another program on this machine")
        assert "serving on" in first, first + server.stderr.read()
        with urllib.request.urlopen(url, timeout=60) as page:
            assert page.status == 200 and b"Riverside Lung Clinic" in page.read()
        server.send_signal(signal.SIGTERM)
        assert server.wait(60) == 0
        assert "Traceback" not in server.stderr.read()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


@pytest.mark.parametrize("command", [
    pytest.param(c, marks=pytest.mark.slow) if _heavy(c) else c for c in COMMANDS])
def test_every_readme_command_runs_as_written(command, workdir):
    if command.startswith("handouts serve"):
        _serve(command, workdir)
        return
    # A Slurm line is one task of an array: run every task, as the array would.
    tasks = ["1", "2", "3", "4"] if "SLURM_ARRAY_TASK_ID" in command else ["1"]
    for task in tasks:
        done = subprocess.run(["bash", "-c", command], cwd=workdir,
                              env=_env() | {"SLURM_ARRAY_TASK_ID": task},
                              capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Traceback" not in done.stderr
    promised = re.search(r"# -> (\S+)", command)
    if promised:
        target = workdir / promised[1]
        assert target.is_dir() if promised[1].endswith("/") else target.is_file(), target
        if command.startswith("handouts build"):
            assert f"wrote {promised[1]}" in done.stdout
