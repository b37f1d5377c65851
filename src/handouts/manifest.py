"""A pack's bookkeeping: an append-only journal while it runs, manifest views at the end.

Each finished job appends one JSON line to `manifest.journal` (O(1) per job, whatever the
pack's size). `manifest.json` and `manifest.csv` are written once, when the run ends or is
interrupted, from the previous manifest with the journal's entries on top. A run that was
killed outright (SIGKILL, power cut) leaves its journal behind; the next run reads it and
resumes from there.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path

from . import __version__
from .errors import HandoutError
from .files import write_atomic

MANIFEST = "manifest.json"
MANIFEST_CSV = "manifest.csv"
JOURNAL = "manifest.journal"
CSV_COLUMNS = ["file", "status", "sha256", "pages", "bytes", "input_key", "error"]


def _valid(entry: object) -> bool:
    return (isinstance(entry, dict) and isinstance(entry.get("file"), str)
            and bool(entry["file"]) and isinstance(entry.get("status"), str))


def read_manifest(out_dir: Path) -> dict[str, dict]:
    """The last known entry of each file: manifest.json, then any journal lines on top.

    Anything damaged (not JSON, JSON of the wrong shape, a line cut short by a kill) is
    ignored: the worst outcome is rebuilding a job, never a crash.
    """
    entries: dict[str, dict] = {}
    try:
        data = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = None
    jobs = data.get("jobs") if isinstance(data, dict) else None
    for entry in jobs if isinstance(jobs, list) else []:
        if _valid(entry):
            entries[entry["file"]] = entry
    try:
        lines = (out_dir / JOURNAL).read_bytes().splitlines()
    except OSError:
        lines = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if _valid(entry):
            entries[entry["file"]] = entry
    return entries


def _rows_without_file(out_dir: Path) -> list[dict]:
    """Failed CSV rows (no file was ever planned for them), as the manifest lists them."""
    try:
        jobs = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8")).get("jobs")
        return [e for e in jobs if isinstance(e, dict) and e.get("file") is None
                and isinstance(e.get("status"), str)]
    except (OSError, ValueError, AttributeError, TypeError):
        return []


class Journal:
    """Append one line per finished job. Lines reach the OS at once (a killed process loses
    nothing); they are not fsynced one by one, which would cost milliseconds per job."""

    def __init__(self, out_dir: Path):
        self.path = out_dir / JOURNAL
        try:
            self._handle = self.path.open("ab")
        except OSError as exc:
            raise HandoutError(f"cannot write {self.path}: {exc.strerror}") from None

    def add(self, entry: dict) -> None:
        self._handle.write(json.dumps(entry, sort_keys=True).encode() + b"\n")
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()


def write_manifest(out_dir: Path, entries: list[dict]) -> None:
    """Write manifest.json and manifest.csv, then drop the journal they now include."""
    write_atomic(out_dir / MANIFEST, json.dumps(
        {"handouts_version": __version__, "jobs": entries}, indent=2, sort_keys=True).encode())
    write_atomic(out_dir / MANIFEST_CSV, manifest_csv(entries).encode())
    (out_dir / JOURNAL).unlink(missing_ok=True)


def manifest_csv(entries: Iterable[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for e in entries:
        writer.writerow([e.get("file") or "", e["status"], e.get("sha256", ""),
                         e.get("pages", ""), e.get("bytes", ""), e.get("input_key", ""),
                         e.get("error", "")])
    return out.getvalue()


def combine(shard_dirs: list[Path], out_dir: Path) -> list[dict]:
    """One manifest for the shards of a pack: every shard's entries, with each `file` made
    relative to out_dir (`shard-1/faq.pdf` when out_dir is the shards' parent folder).

    A shard folder without a manifest, or the same PDF built by two shards (two different
    `--shard` counts in one set), is an error: the combined manifest would not be the pack.
    """
    import os

    combined: list[dict] = []
    seen: dict[str, Path] = {}
    for folder in shard_dirs:
        if not (folder / MANIFEST).is_file() and not (folder / JOURNAL).is_file():
            raise HandoutError(f"{folder}: no {MANIFEST} here; is it a pack's output folder?")
        for name, entry in read_manifest(folder).items():
            if name in seen:
                raise HandoutError(f"{name} is in two shards ({seen[name]} and {folder}); "
                                   "were they made with the same --shard K/N count?")
            seen[name] = folder
            relative = Path(os.path.relpath(folder / name, out_dir)).as_posix()
            combined.append(entry | {"file": relative, "shard": str(folder)})
        combined.extend(entry | {"shard": str(folder)} for entry in _rows_without_file(folder))
    write_manifest(out_dir, combined)
    return combined
