"""A pack's bookkeeping: a journal line per job, manifest views at the end, resuming after
a kill, surviving a damaged manifest, and one manifest for a sharded pack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from handouts.cli import cli
from handouts.manifest import JOURNAL, Journal, read_manifest, write_manifest

PACK = "items:\n  - kinds: [questions]\n  - kinds: [drug-sheet]\n    drugs: [alectinib]\n"


def pack_cli(*args):
    return CliRunner().invoke(cli, ["pack", *args], catch_exceptions=False)


def handouts_exe() -> str:
    return str(Path(sys.executable).with_name("handouts"))


def test_the_journal_wins_over_the_manifest_and_a_cut_line_is_skipped(tmp_path):
    write_manifest(tmp_path, [{"file": "a.pdf", "status": "built", "sha256": "old"},
                              {"file": None, "label": "row 3", "status": "failed"}])
    assert not (tmp_path / JOURNAL).exists()
    journal = Journal(tmp_path)
    journal.add({"file": "a.pdf", "status": "built", "sha256": "new"})
    journal.add({"file": "b.pdf", "status": "failed", "error": "x"})
    journal.close()
    with (tmp_path / JOURNAL).open("ab") as handle:
        handle.write(b'{"file": "c.pdf", "sta')  # the process was killed mid-line
    assert read_manifest(tmp_path) == {
        "a.pdf": {"file": "a.pdf", "status": "built", "sha256": "new"},
        "b.pdf": {"file": "b.pdf", "status": "failed", "error": "x"}}


def test_a_damaged_manifest_rebuilds_instead_of_crashing(tmp_path):
    pack = tmp_path / "pack.yaml"
    pack.write_text(PACK)
    out = tmp_path / "out"
    assert pack_cli(str(pack), "--out", str(out)).exit_code == 0
    for damaged in ['[1, 2]', '{"jobs": {"a": 1}}', '{"jobs": [1, null, {"file": 3}]}',
                    '{"jobs": [{"file": "questions.pdf"}]}', "not json", ""]:
        (out / "manifest.json").write_text(damaged)
        result = pack_cli(str(pack), "--out", str(out))
        assert result.exit_code == 0, (damaged, result.output)
        assert result.output.startswith("built 2, unchanged 0, failed 0")
    assert pack_cli(str(pack), "--out", str(out)).output.startswith("built 0, unchanged 2")


def test_a_rerun_with_nothing_to_build_never_imports_weasyprint(tmp_path):
    pack = tmp_path / "pack.yaml"
    pack.write_text(PACK)
    out = tmp_path / "out"
    assert pack_cli(str(pack), "--out", str(out)).exit_code == 0
    script = ("import sys\nfrom handouts.cli import cli\n"
              f"cli(['pack', {str(pack)!r}, '--out', {str(out)!r}], standalone_mode=False)\n"
              "print('weasyprint' in sys.modules, 'multiprocessing.pool' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, env=os.environ | {"PYTHONPATH": os.pathsep.join(sys.path)})
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("built 0, unchanged 2, failed 0")
    assert run.stdout.strip().endswith("False False")


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0]
    except OSError:
        return False
    return state != "Z"


def test_sigkill_stops_the_workers_and_the_next_run_resumes_from_the_journal(tmp_path):
    pack = tmp_path / "pack.yaml"
    pack.write_text("items:\n  - kinds: [faq, drug-sheet, questions]\n"
                    "    drugs: [alectinib, brigatinib, ceritinib]\n    papers: [letter, a4]\n"
                    "    clinic: south.yaml\n")
    (tmp_path / "south.yaml").write_text("name: South Clinic\n")
    out = tmp_path / "out"
    (out / "south").mkdir(parents=True)
    stale = out / "south" / ".faq.pdf.abcd_123.part"  # a write killed by an earlier run
    stale.write_bytes(b"%PDF-1.7 half")
    keep = out / "south" / "notes.part"  # not our naming: not ours to delete
    keep.write_text("mine")
    deep = out / "south" / "old" / ".faq.pdf.abcd_123.part"  # deeper than a pack writes
    deep.parent.mkdir()
    deep.write_text("not ours either")
    process = subprocess.Popen([handouts_exe(), "pack", str(pack), "--out", str(out),
                                "--workers", "2"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    journal = out / JOURNAL
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (journal.exists() and journal.stat().st_size):
        time.sleep(0.05)
    workers = [pid for pid in children(process.pid) if alive(pid)]
    assert workers
    process.kill()
    process.communicate(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(pid) for pid in workers):
        time.sleep(0.1)
    assert not any(alive(pid) for pid in workers), "workers outlived their killed parent"
    assert not stale.exists() and keep.exists() and deep.exists()
    finished = [json.loads(line) for line in journal.read_bytes().splitlines()
                if line.endswith(b"}")]
    rerun = subprocess.run([handouts_exe(), "pack", str(pack), "--out", str(out)],
                           capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"unchanged {len(finished)}, failed 0" in rerun.stdout
    assert not journal.exists() and not list(out.glob("*/.*.pdf.*.part"))
    assert len(json.loads((out / "manifest.json").read_text())["jobs"]) == 6


def test_shards_combine_into_one_manifest(tmp_path):
    pack = tmp_path / "pack.yaml"
    pack.write_text("items:\n  - kinds: [drug-sheet]\n    drugs: [alectinib, brigatinib]\n"
                    "    papers: [letter, a4]\n")
    for k in (1, 2):
        assert pack_cli(str(pack), "--shard", f"{k}/2", "--out",
                        str(tmp_path / f"shard-{k}")).exit_code == 0
    result = CliRunner().invoke(cli, ["manifest", "combine", str(tmp_path / "shard-1"),
                                      str(tmp_path / "shard-2"), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    jobs = json.loads((tmp_path / "manifest.json").read_text())["jobs"]
    assert len(jobs) == 4 and all((tmp_path / job["file"]).is_file() for job in jobs)
    assert {job["file"].split("/")[0] for job in jobs} == {"shard-1", "shard-2"}
    assert (tmp_path / "manifest.csv").read_text().count("\n") == 5
    again = CliRunner().invoke(cli, ["manifest", "combine", str(tmp_path / "shard-1"),
                                     str(tmp_path / "shard-1"), "--out", str(tmp_path)])
    assert again.exit_code == 1 and "is in two shards" in again.output
