"""Clinic packs: expand a pack file into jobs, build them in parallel, keep a manifest.

A pack file (YAML) names a clinic, defaults and items; each item expands to one job per
drug × paper × profile. Jobs are built by long-lived worker processes that load content,
templates and fonts once. Each job's inputs (content file hashes, template hash, options,
package version) are hashed; a re-run skips jobs whose inputs and output are unchanged.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import json
import os
import re
import signal
import unicodedata
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from . import __version__
from .build import Builder, default_name
from .errors import ClinicError, HandoutError, OptionError
from .i18n import LANGUAGES
from .options import Clinic, Options, Personal, Schedule, load_clinic, personal, schedule
from .options import paper as paper_named
from .options import profile as profile_named
from .schema import NonEmptyStr, Strict, read_yaml, validate

MANIFEST = "manifest.json"


class PackItem(Strict):
    kinds: Annotated[list[NonEmptyStr], Field(min_length=1)]
    clinic: NonEmptyStr | None = None  # this item's own clinic file; its PDFs go in a subfolder
    start: datetime.date | None = None  # calendar and diary: first day (else write-in dates)
    weeks: Annotated[int, Field(ge=1, le=12)] | None = None
    drugs: list[NonEmptyStr] | Literal["all"] | None = None
    papers: list[Literal["letter", "a4"]] | None = None
    profiles: list[Literal["standard", "large-print"]] | None = None
    languages: list[Literal["en", "es"]] | None = None


class PackDefaults(Strict):
    papers: list[Literal["letter", "a4"]] = ["letter"]
    profiles: list[Literal["standard", "large-print"]] = ["standard"]
    languages: list[Literal["en", "es"]] = ["en"]


class PackFile(Strict):
    clinic: NonEmptyStr | None = None
    date: datetime.date | None = None  # module-qualified: the field name shadows the type
    defaults: PackDefaults = PackDefaults()
    items: list[PackItem] = []
    patients: NonEmptyStr | None = None
    packet: Annotated[list[NonEmptyStr], Field(min_length=1)] = ["faq", "drug-sheet",
                                                                 "questions"]


PATIENT_COLUMNS = ["name", "drug", "prescriber", "date", "paper", "start", "language"]


@dataclass(frozen=True)
class Job:
    """One PDF to build: its file name (relative to the pack's output folder) and options."""

    name: str
    kinds: tuple[str, ...]
    drug: str | None
    paper: str
    profile: str
    clinic: Clinic | None = None
    patient: str | None = None
    prescriber: str | None = None
    when: date | None = None
    start: date | None = None
    weeks: int | None = None
    label: str = ""  # what logs may show: never patient data
    lang: str = "en"

    def options(self) -> Options:
        return Options(paper=paper_named(self.paper), profile=profile_named(self.profile),
                       clinic=self.clinic,
                       personal=Personal(self.patient, self.prescriber, self.when),
                       schedule=Schedule(self.start, self.weeks), lang=self.lang)


@dataclass
class Pack:
    path: Path
    jobs: list[Job]
    clinic: Clinic | None = None
    problems: list[tuple[str, str]] = field(default_factory=list)  # (label, message) of bad rows


def slugify(text: str, limit: int = 60) -> str:
    """A safe file-name part: ASCII letters, digits and dashes; never a path."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:limit].strip("-")
    return slug or "patient"


def _item_jobs(item: PackItem, number: int, defaults: PackDefaults, builder: Builder,
               path: Path, clinic: Clinic | None) -> list[Job]:
    """Jobs for one item; kinds and drugs are checked here, so a typo fails the whole pack
    up front (naming the field) instead of failing one job per paper and profile.

    An item with its own clinic file (one site of a network, say) writes into a subfolder
    named after that file, so two sites' copies of a handout never share a name.
    """
    folder = ""
    if item.clinic:
        clinic = load_clinic(path.parent / item.clinic)
        folder = slugify(Path(item.clinic).stem) + "/"
    every = list(builder.library.drugs)
    drugs: list[str | None] = every if item.drugs == "all" else [*(item.drugs or [None])]
    jobs = []
    for lang in item.languages or defaults.languages:
        for drug in drugs:
            try:
                parts = builder.plan(item.kinds, drug, lang)
            except HandoutError as exc:
                located = HandoutError(f"{path}:items.{number}: {exc}")
                located.exit_code = exc.exit_code  # an unknown drug stays a usage error (2)
                raise located from None
            drug_id = next((p.drug.id for p in parts if p.drug), None)
            for paper in item.papers or defaults.papers:
                for profile in item.profiles or defaults.profiles:
                    job = Job("", tuple(item.kinds), drug_id, paper, profile, clinic,
                              start=item.start, weeks=item.weeks, lang=lang)
                    name = folder + default_name(parts, job.options())
                    jobs.append(replace(job, name=name, label=name))
    return jobs


def _patient_jobs(csv_path: Path, pack: PackFile, clinic: Clinic | None,
                  problems: list[tuple[str, str]]) -> list[Job]:
    """One packet job per CSV row. A row with a bad date or a name too long to lay out
    fails alone (listed by row number, never by name); the other rows still build."""
    try:
        handle = csv_path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise HandoutError(f"{csv_path}: cannot read patients file ({exc.strerror})") from None
    with handle:
        reader = csv.DictReader(handle)
        extra = sorted(set(reader.fieldnames or []) - set(PATIENT_COLUMNS))
        if extra or "name" not in (reader.fieldnames or []):
            raise HandoutError(f"{csv_path}: columns may be {', '.join(PATIENT_COLUMNS)}; "
                               f"unknown: {', '.join(extra) or 'none'}; 'name' is required")
        jobs, used = [], set()
        for number, row in enumerate(reader, start=2):  # row 1 is the header
            try:
                fields = personal(row.get("name") or None, row.get("prescriber") or None,
                                  row.get("date") or None, labels=("name", "prescriber", "date"))
                start = schedule(row.get("start") or None, start_label="start").start
                lang = _row_language(row.get("language"), pack.defaults.languages[0])
            except OptionError as exc:
                problems.append((f"row {number}", f"{csv_path.name}:row {number}: {exc}"))
                continue
            # The language shows in the name, as with `build`: packet-ana-diaz-es.pdf.
            slug = slugify(row.get("name") or "") + ("" if lang == "en" else f"-{lang}")
            name, n = f"packet-{slug}.pdf", 2
            while name in used:
                name, n = f"packet-{slug}-{n}.pdf", n + 1
            used.add(name)
            jobs.append(Job(name, tuple(pack.packet), row.get("drug") or None,
                            (row.get("paper") or pack.defaults.papers[0]).lower(), "standard",
                            clinic, patient=fields.patient, prescriber=fields.prescriber,
                            when=fields.date or pack.date, start=start, label=f"row {number}",
                            lang=lang))
        return jobs


def _row_language(value: str | None, default: str) -> str:
    """A CSV row's `language` (en, es; 'English'/'Español' too), or the pack's default."""
    text = (value or "").strip().lower()
    if not text:
        return default
    names = {name.lower(): code for code, name in LANGUAGES.items()} | {"espanol": "es",
                                                                        "spanish": "es"}
    code = names.get(text, text)
    if code not in LANGUAGES:
        raise OptionError(f"language must be one of {', '.join(LANGUAGES)}, not {value!r}")
    return code


def load_pack(path: Path, builder: Builder) -> Pack:
    """Read a pack file and expand it into jobs; file paths inside are relative to it.

    Everything a worker would otherwise trip over (kinds, drugs, the clinic file and its
    logo) is checked here, in the parent, so a mistake is one clear line, not a crashed pool.
    """
    data, problems = read_yaml(path, str(path))
    model = None
    if data is not None:
        model, problems = validate(PackFile, data, str(path))
    if problems or model is None:
        raise HandoutError("; ".join(problems))
    if not model.items and not model.patients:
        raise HandoutError(f"{path}:items: a pack needs items, a patients file, or both")
    clinic = load_clinic(path.parent / model.clinic) if model.clinic else None
    jobs: list[Job] = []
    for number, item in enumerate(model.items):
        jobs.extend(_item_jobs(item, number, model.defaults, builder, path, clinic))
    row_problems: list[tuple[str, str]] = []
    if model.patients:
        try:
            builder.plan(model.packet, next(iter(builder.library.drugs)))
        except HandoutError as exc:
            raise HandoutError(f"{path}:packet: {exc}") from None
        jobs.extend(_patient_jobs(path.parent / model.patients, model, clinic, row_problems))
    return Pack(path, jobs, clinic, row_problems)


def shard(jobs: list[Job], index: int, count: int) -> list[Job]:
    """A stable 1/count slice: a job's shard depends on its name only, not on list order."""
    def bucket(job: Job) -> int:
        return int(hashlib.sha256(job.name.encode()).hexdigest(), 16) % count
    return [job for job in jobs if bucket(job) == index - 1]


# ---- running jobs in worker processes ---------------------------------------------

_BUILDER: Builder | None = None
_TEMPLATES_SHA256 = ""


def _templates_sha256(builder: Builder) -> str:
    """One hash over every file in the template folders (ours and the clinic's), except the
    download page's own templates (web/), which no PDF uses."""
    digest = hashlib.sha256()
    for folder in (builder.renderer.override_dir, builder.renderer.default_dir):
        for path in sorted(folder.rglob("*")) if folder else []:
            if path.is_file() and path.relative_to(folder).parts[0] != "web":
                digest.update(str(path.relative_to(folder)).encode() + b"\0")
                digest.update(path.read_bytes())
    return digest.hexdigest()


def _start_worker(content_dir: Path | None, templates_dir: Path | None) -> None:
    """Each worker loads content, templates and fonts once and reuses them for every job."""
    global _BUILDER, _TEMPLATES_SHA256

    # The parent decides when to stop; a worker always finishes (or cleanly abandons) the
    # job in hand, so an interrupt never leaves a half-written file.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _BUILDER = Builder(content_dir, templates_dir)
    _TEMPLATES_SHA256 = _templates_sha256(_BUILDER)


def _inputs(job: Job) -> dict:
    """Everything a job's PDF depends on, for the manifest and the skip-if-unchanged check."""
    assert _BUILDER is not None
    from .context import content_files

    parts = _BUILDER.plan(list(job.kinds), job.drug, job.lang)
    return {
        "content": {f.origin.shown: {"version": f.version, "sha256": f.origin.sha256}
                    for f in content_files(parts, _BUILDER.library_for(job.lang))},
        "templates_sha256": _TEMPLATES_SHA256,
        "clinic": None if job.clinic is None else asdict(job.clinic) | {
            "logo": str(job.clinic.logo) if job.clinic.logo else None,
            "logo_sha256": _logo_sha256(job.clinic)},
        "options": {"kinds": list(job.kinds), "drug": job.drug, "paper": job.paper,
                    "profile": job.profile, "personalised": job.patient is not None,
                    "start": job.start.isoformat() if job.start else None, "weeks": job.weeks,
                    "language": job.lang},
        "handouts_version": __version__,
    }


def _input_key(inputs: dict, job: Job) -> str:
    personal = [job.patient, job.prescriber, str(job.when)]
    blob = json.dumps([inputs, personal], sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def _run_job(job: Job, out_dir: Path, previous: dict | None, force: bool) -> dict:
    assert _BUILDER is not None
    entry: dict = {"file": job.name, "label": job.label}
    try:
        inputs = _inputs(job)
        key = _input_key(inputs, job)
        target = out_dir / job.name
        entry |= {"inputs": inputs, "input_key": key}
        if (not force and previous and previous.get("input_key") == key
                and previous.get("status") in ("built", "unchanged") and target.is_file()
                and _sha256(target) == previous.get("sha256")):
            return previous | {"status": "unchanged"}
        built = _BUILDER.build(list(job.kinds), job.drug, job.options(), target)
        return entry | {"status": "built", "title": built.title, "sha256": _sha256(target),
                        "pages": built.pages, "bytes": built.size}
    except HandoutError as exc:
        return entry | {"status": "failed", "error": str(exc)}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _logo_sha256(clinic: Clinic) -> str | None:
    """The logo is an input too: a new logo image rebuilds the jobs that show it."""
    if clinic.logo is None:
        return None
    try:
        return _sha256(clinic.logo)
    except OSError as exc:
        raise ClinicError(f"cannot read clinic logo {clinic.logo}: {exc.strerror}") from None


@dataclass
class PackResult:
    built: int = 0
    unchanged: int = 0
    failed: int = 0
    entries: list[dict] = field(default_factory=list)


class Interrupted(HandoutError):
    """Raised when a pack is stopped by Ctrl-C or SIGTERM; finished jobs are kept."""

    exit_code = 130


def _stop_on_sigterm() -> object:
    """Make SIGTERM stop a pack the way Ctrl-C does, so the manifest is written first."""
    def handler(signum, frame):
        raise KeyboardInterrupt

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        return None


def run_pack(pack: Pack, out_dir: Path, workers: int | None = None, force: bool = False,
             content_dir: Path | None = None, templates_dir: Path | None = None,
             progress=None) -> PackResult:
    """Build every job; one failure never stops the others.

    manifest.json/.csv are rewritten (atomically) after every finished job, keeping the
    previous entries of jobs not yet redone, so an interrupted pack leaves a valid manifest
    and the next run resumes where it stopped.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    for leftover in out_dir.glob(".*.part"):  # from a run that was killed outright
        leftover.unlink()
    previous = _read_manifest(out_dir)
    result = PackResult()
    done: dict[str, dict] = {}
    old_handler = _stop_on_sigterm()
    pool = ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1,
                               initializer=_start_worker,
                               initargs=(content_dir, templates_dir))
    try:
        futures = [pool.submit(_run_job, job, out_dir, previous.get(job.name), force)
                   for job in pack.jobs]
        for future in as_completed(futures):
            entry = future.result()
            done[entry["file"]] = entry
            setattr(result, entry["status"], getattr(result, entry["status"]) + 1)
            _write_manifest(out_dir, previous | done)
            if progress:
                progress(entry)
    except KeyboardInterrupt:
        pool.shutdown(wait=True, cancel_futures=True)
        # Jobs already in a worker's hands finish during shutdown: record them too.
        for future in futures:
            if future.done() and not future.cancelled() and future.exception() is None:
                done.setdefault(future.result()["file"], future.result())
        _write_manifest(out_dir, previous | done)
        raise Interrupted(f"interrupted after {len(done)} of {len(pack.jobs)} jobs; "
                          "run the same command again to resume") from None
    except BrokenProcessPool:
        _write_manifest(out_dir, previous | done)
        raise HandoutError(f"a worker process stopped unexpectedly after {len(done)} of "
                           f"{len(pack.jobs)} jobs (out of memory?); run again to resume"
                           ) from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if old_handler is not None:
            signal.signal(signal.SIGTERM, old_handler)
    order = {job.name: n for n, job in enumerate(pack.jobs)}
    result.entries = sorted(done.values(), key=lambda e: order.get(e["file"], 0))
    for label, problem in pack.problems:
        result.entries.append({"file": None, "label": label, "status": "failed",
                               "error": problem})
        result.failed += 1
    _write_manifest(out_dir, {e["file"]: e for e in result.entries if e["file"]},
                    result.entries)
    return result


def _write_manifest(out_dir: Path, by_file: dict[str, dict],
                    entries: list[dict] | None = None) -> None:
    from .pdf import write_atomic

    entries = entries if entries is not None else list(by_file.values())
    write_atomic(out_dir / MANIFEST, json.dumps(
        {"handouts_version": __version__, "jobs": entries}, indent=2, sort_keys=True).encode())
    write_atomic(out_dir / "manifest.csv", _manifest_csv(entries).encode())


def merge(result: PackResult, out_dir: Path, name: str = "pack.pdf") -> Path:
    """One print-shop file of every built handout, in job order, one bookmark per handout."""
    from pypdf import PdfWriter

    from .pdf import write_atomic

    writer = PdfWriter()
    for entry in result.entries:
        if entry["status"] in ("built", "unchanged"):
            title = entry.get("title") or entry["file"]
            writer.append(out_dir / entry["file"], outline_item=f"{title} ({entry['file']})")
    buffer = io.BytesIO()
    writer.write(buffer)
    target = out_dir / name
    write_atomic(target, buffer.getvalue())
    return target


def _read_manifest(out_dir: Path) -> dict[str, dict]:
    try:
        jobs = json.loads((out_dir / MANIFEST).read_text())["jobs"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return {job["file"]: job for job in jobs if isinstance(job, dict) and job.get("file")}


def _manifest_csv(entries: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["file", "status", "sha256", "pages", "bytes", "input_key", "error"])
    for e in entries:
        writer.writerow([e.get("file") or "", e["status"], e.get("sha256", ""),
                         e.get("pages", ""), e.get("bytes", ""), e.get("input_key", ""),
                         e.get("error", "")])
    return out.getvalue()

