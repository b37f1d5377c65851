"""Clinic packs: expand a pack file into jobs, build them in parallel, keep a manifest.

A pack file (YAML) names a clinic, defaults and items; each item expands to one job per
drug × paper × profile. Each job's inputs (content file hashes, template hash, options,
package version) are hashed in the parent, which also decides which jobs are unchanged:
a re-run with nothing to build starts no worker and never imports WeasyPrint. Jobs to
build go to long-lived worker processes that load content, templates and fonts once.
Bookkeeping is an append-only journal (see manifest.py).
"""

from __future__ import annotations

import functools
import gc
import hashlib
import json
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field

from . import __version__
from .build import Builder, default_name
from .context import Cover
from .errors import ClinicError, HandoutError, OptionError
from .files import make_folder, remove_stale_parts, slugify, write_atomic
from .i18n import LANGUAGES
from .manifest import Journal, read_manifest, write_manifest
from .options import Clinic, Options, Personal, Schedule, load_clinic, personal, schedule
from .options import paper as paper_named
from .options import profile as profile_named
from .partcache import FolderCache
from .patients import EXTRA, UniqueNames, read_rows
from .schema import Day, FileRef, NonEmptyStr, Strict, read_yaml, validate

if TYPE_CHECKING:
    from .graft import Template, TemplateFor


class PackItem(Strict):
    kinds: Annotated[list[NonEmptyStr], Field(min_length=1)]
    clinic: FileRef | None = None  # this item's own clinic file; its PDFs go in a subfolder
    start: Day | None = None  # calendar and diary: first day (else write-in dates)
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
    clinic: FileRef | None = None
    date: Day | None = None
    defaults: PackDefaults = PackDefaults()
    items: list[PackItem] = []
    patients: FileRef | None = None
    packet: Annotated[list[NonEmptyStr], Field(min_length=1)] = ["faq", "drug-sheet",
                                                                 "questions"]
    fhir: bool = False  # also a FHIR DocumentReference (NAME.fhir.json) beside each PDF


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

    @property
    def personal(self) -> bool:
        return (self.patient, self.prescriber, self.when) != (None, None, None)

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
    fhir: bool = False  # write a FHIR DocumentReference beside each PDF (see fhir.py)


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
    jobs, unique = [], UniqueNames()
    for number, row in read_rows(csv_path):
        try:
            if EXTRA in row:
                raise OptionError(f"{row[EXTRA]} cells, more than the header's columns")
            fields = personal(row.get("name") or None, row.get("prescriber") or None,
                              row.get("date") or None, labels=("name", "prescriber", "date"))
            start = schedule(row.get("start") or None, start_label="start").start
            lang = _row_language(row.get("language"), pack.defaults.languages[0])
        except OptionError as exc:
            problems.append((f"row {number}", f"{csv_path.name}:row {number}: {exc}"))
            continue
        # The language shows in the name, as with `build`: packet-ana-diaz-es.pdf.
        name = unique(slugify(row.get("name") or "") + ("" if lang == "en" else f"-{lang}"))
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
        model, problems = validate(PackFile, data, str(path),
                                   see="README.md, 'Clinic packs'")
    if problems or model is None:
        raise HandoutError("; ".join(problems))
    if not model.items and not model.patients:
        raise HandoutError(f"{path}:items: a pack needs items, a patients file, or both")
    clinic = load_clinic(path.parent / model.clinic) if model.clinic else None
    jobs: list[Job] = []
    for number, item in enumerate(model.items):
        jobs.extend(_item_jobs(item, number, model.defaults, builder, path, clinic))
    _one_file_each(path, model.items, jobs)
    row_problems: list[tuple[str, str]] = []
    if model.patients:
        try:
            builder.plan(model.packet, next(iter(builder.library.drugs)))
        except HandoutError as exc:
            raise HandoutError(f"{path}:packet: {exc}") from None
        jobs.extend(_patient_jobs(path.parent / model.patients, model, clinic, row_problems))
    return Pack(path, jobs, clinic, row_problems, fhir=model.fhir)


def _one_file_each(path: Path, items: list[PackItem], jobs: list[Job]) -> None:
    """Refuse a pack in which two jobs would write one file, so that no PDF silently
    replaces another: two sites' clinic files that share a folder (south/clinic.yaml and
    north/clinic.yaml, or Clinic.yaml and clinic.yaml, both 'clinic/'), or one handout
    named twice (drugs: [brigatinib, Alunbrig]). Names are compared ignoring case, as the
    file systems of macOS and Windows do."""
    folders: dict[str, tuple[Path, int]] = {}
    for number, item in enumerate(items):
        if item.clinic:
            folder = slugify(Path(item.clinic).stem)
            where = (path.parent / item.clinic).resolve()
            first, first_number = folders.setdefault(folder, (where, number))
            if first != where:
                raise HandoutError(
                    f"{path}:items.{number}.clinic: {item.clinic} would write into the "
                    f"folder {folder}/ that items.{first_number} uses for another clinic "
                    "file; give the two clinic files different names")
    seen: dict[str, str] = {}
    for job in jobs:
        key = job.name.casefold()
        if key in seen:
            raise HandoutError(f"{path}:items: {job.name} would be made twice (the same "
                               "kind, drug, paper and profile in one or two items); "
                               "remove the repeat")
        seen[key] = job.name


def shard(jobs: list[Job], index: int, count: int) -> list[Job]:
    """A stable 1/count slice: a job's shard depends on its name only, not on list order."""
    def bucket(job: Job) -> int:
        return int(hashlib.sha256(job.name.encode()).hexdigest(), 16) % count
    return [job for job in jobs if bucket(job) == index - 1]


# ---- deciding what to build (in the parent) -----------------------------------------


def _templates_sha256(builder: Builder) -> str:
    """One hash over every file in the template folders (ours and the clinic's), except the
    download page's own templates (web/), which no PDF uses."""
    digest = hashlib.sha256()
    for folder in reversed(builder.template_folders):  # the clinic's, then ours
        for path in sorted(folder.rglob("*")) if folder else []:
            if path.is_file() and path.relative_to(folder).parts[0] != "web":
                digest.update(str(path.relative_to(folder)).encode() + b"\0")
                digest.update(path.read_bytes())
    return digest.hexdigest()


class Planner:
    """Works out each job's inputs and input key, with the files it reads hashed once."""

    def __init__(self, builder: Builder):
        self.builder = builder
        self.templates_sha256 = _templates_sha256(builder)
        self._logos: dict[Path, str] = {}

    def inputs(self, job: Job) -> dict:
        """Everything a job's PDF depends on, for the manifest and the unchanged check."""
        from .context import content_files

        parts = self.builder.plan(list(job.kinds), job.drug, job.lang)
        return {
            "content": {f.origin.shown: {"version": f.version, "sha256": f.origin.sha256}
                        for f in content_files(parts, self.builder.library_for(job.lang))},
            "templates_sha256": self.templates_sha256,
            "clinic": None if job.clinic is None else asdict(job.clinic) | {
                "logo": str(job.clinic.logo) if job.clinic.logo else None,
                "logo_sha256": self.logo_sha256(job.clinic)},
            "options": {"kinds": list(job.kinds), "drug": job.drug, "paper": job.paper,
                        "profile": job.profile, "personalised": job.patient is not None,
                        "start": job.start.isoformat() if job.start else None,
                        "weeks": job.weeks, "language": job.lang},
            "handouts_version": __version__,
        }

    def logo_sha256(self, clinic: Clinic) -> str | None:
        """The logo is an input too: a new logo image rebuilds the jobs that show it."""
        if clinic.logo is None:
            return None
        if clinic.logo not in self._logos:
            try:
                self._logos[clinic.logo] = _sha256(clinic.logo.read_bytes())
            except OSError as exc:
                raise ClinicError(f"cannot read clinic logo {clinic.logo}: {exc.strerror}"
                                  ) from None
        return self._logos[clinic.logo]

    def entry(self, job: Job, out_dir: Path, previous: dict | None, force: bool
              ) -> tuple[dict, bool]:
        """(manifest entry, whether it still has to be built). An unchanged job keeps its
        previous entry: same input key, and its file still has the recorded hash."""
        entry: dict = {"file": job.name, "label": job.label}
        try:
            inputs = self.inputs(job)
        except HandoutError as exc:
            return entry | {"status": "failed", "error": str(exc)}, False
        key = _input_key(inputs, job)
        entry |= {"inputs": inputs, "input_key": key}
        if (not force and previous and previous.get("input_key") == key
                and previous.get("status") in ("built", "unchanged")
                and _file_sha256(out_dir / job.name) == previous.get("sha256")):
            return previous | {"status": "unchanged", "label": job.label}, False
        return entry, True


def _input_key(inputs: dict, job: Job) -> str:
    personal = [job.patient, job.prescriber, str(job.when)]
    blob = json.dumps([inputs, personal], sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha256(path: Path) -> str | None:
    try:
        return _sha256(path.read_bytes()) if path.is_file() else None
    except OSError:
        return None


# ---- building jobs in worker processes ----------------------------------------------

_BUILDER: Builder | None = None


GC_THRESHOLD = 50_000  # new objects between a worker's cyclic collections (Python: 700)


def _start_worker(content_dir: Path | None, templates_dir: Path | None) -> None:
    """Each worker loads content, templates and fonts once and reuses them for every job."""
    global _BUILDER

    # The parent decides when to stop; a worker always finishes (or cleanly abandons) the
    # job in hand, so an interrupt never leaves a half-written file.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _watch_parent(os.getppid())
    # Importing WeasyPrint and laying out pages make objects by the million, few of them
    # garbage: Python's cyclic collector, run every 700 new objects, cost a worker about
    # 10 % of its first packet and 3-4 % of the later ones. What the parent made before
    # the fork is never garbage here (freeze: never scanned); cycles are still collected,
    # less often (a worker's peak memory: about 30 MB more).
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 20, 20)
    _BUILDER = Builder(content_dir, templates_dir)


def _watch_parent(parent: int, every: float = 0.5) -> None:
    """Exit when the parent is gone. A parent killed outright (SIGKILL, the OOM killer)
    cannot shut its pool down; without this its workers would wait for work forever."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(1)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


def _run_job(job: Job, out_dir: Path, entry: dict, cache: Path | None = None) -> dict:
    """Build one job. A patient packet has a cover page; when its pages 2..N are shared
    with other packets (`cache` is then the folder of shared renders) it is composed from
    their one render, else rendered whole (the same PDF: composing it would only add the
    cover's render and the join)."""
    assert _BUILDER is not None
    try:
        parts = _BUILDER.plan(list(job.kinds), job.drug, job.lang)
        if job.personal and cache is not None:
            title, data, pages = _composed(parts, job, cache, entry)
        else:
            title, rendered = _BUILDER.render(parts, job.options(),
                                              Cover() if job.personal else None)
            data, pages = rendered.data, rendered.pages
        write_atomic(out_dir / job.name, data)
        return entry | {"status": "built", "title": title, "sha256": _sha256(data),
                        "pages": pages, "bytes": len(data)}
    except HandoutError as exc:
        return entry | {"status": "failed", "error": str(exc)}


CACHE = ".cache"  # shared renders of patient packets: OUT/.cache unless --cache says
CACHE_DAYS = 30  # a shared render no pack has used for this long is removed


def base_key(inputs: dict) -> str:
    """The name of a patient packet's shared render: a hash of its inputs, which hold
    no personal data (content hashes, templates, clinic, kinds, drug, paper, profile,
    weeks), but not the start date: the shared render is undated, and a dated packet
    renders its calendar and diary itself (see compose.py)."""
    shared = inputs | {"options": inputs["options"] | {"start": None},
                       "weasyprint": _weasyprint_version()}
    return _sha256(json.dumps(shared, sort_keys=True, default=str).encode())


@functools.cache
def _weasyprint_version() -> str:
    """Part of a shared render's key: a cache kept for weeks may outlive an upgrade.
    Read from the package metadata, so deciding what to build never imports WeasyPrint."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("weasyprint")
    except PackageNotFoundError:
        return "unknown"


PARTS = "parts"  # in CACHE: parts of shared renders, shared by packets of every drug


def _parts_salt(inputs: dict) -> str:
    """What a cached part depends on besides its own content and options (compose.part_key):
    the templates, the clinic's logo, this version of handouts and WeasyPrint's."""
    shared = {key: inputs[key] for key in ("templates_sha256", "clinic", "handouts_version")}
    shared["weasyprint"] = _weasyprint_version()
    return _sha256(json.dumps(shared, sort_keys=True, default=str).encode())


def _composed(parts: list, job: Job, folder: Path, entry: dict) -> tuple[str, bytes, int]:
    """A patient packet from its shared render (rendered by the first job that needs it,
    the others waiting on its lock) with the patient's own cover grafted on (see graft.py;
    compose.py for the rest): only the patient's fields are rendered, and their dated
    pages."""
    from .compose import render_base
    from .graft import compose_packet

    assert _BUILDER is not None
    parts_cache, salt = FolderCache(folder / PARTS), _parts_salt(entry["inputs"])
    key = base_key(entry["inputs"])
    base = FolderCache(folder).fetch({key: lambda: render_base(
        _BUILDER, parts, job.options(), parts_cache, salt)})[key]
    return compose_packet(_BUILDER, parts, job.options(), base,
                          _kept_templates(folder / COVERS, key, base), parts_cache, salt)


COVERS = "covers"  # in CACHE: cover templates of the shared renders (graft.py), undated


def _kept_templates(folder: Path, key: str, base: bytes) -> TemplateFor:
    """The cover templates of the shared render `base` (named `key`), kept in `folder`
    for every patient and day after: one per fields size, whatever the start dates (see
    graft.compose_packet). Named by a hash of the base's key (its inputs, templates and
    WeasyPrint's version: see base_key), its bytes and the size: no names in them."""
    from .graft import Template

    cache = FolderCache(folder)
    base_sha256 = _sha256(base)

    def template_for(size: tuple[float, float, float], make: Callable[[], Template]
                     ) -> Template:
        name = _sha256(json.dumps(["cover-template", TEMPLATE_FORMAT, key, base_sha256,
                                   size]).encode())
        made: list[Template] = []

        def keep() -> bytes:
            made.append(make())
            return made[-1].dumps()

        try:
            return Template.loads(cache.fetch({name: keep})[name])
        except OSError:  # not kept (a full disk, say): this patient's packet is made still
            return made[-1] if made else make()

    return template_for


TEMPLATE_FORMAT = 1  # graft.Template.dumps's: a new one names new files


def _prune_cache(folder: Path, days: float) -> None:
    """Remove the shared renders, parts and cover templates no pack has used for `days`
    (0: all). Unused today is not stale: a clinic's next day, or another pack sharing the
    folder, may need the drug nobody needed today; a render whose content changed is
    never used again."""
    since = time.time() - days * 86400 if days else float("inf")
    for cache in (FolderCache(folder), FolderCache(folder / PARTS),
                  FolderCache(folder / COVERS)):
        cache.prune(since)


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
             progress=None, builder: Builder | None = None,
             cache_dir: Path | None = None) -> PackResult:
    """Build every job; one failure never stops the others.

    The parent plans every job first (inputs, unchanged or not); workers start only if
    something is left to build. Each finished job is one journal line; manifest.json/.csv
    are written at the end, or on Ctrl-C/SIGTERM/a dead worker, and a run killed outright
    leaves its journal for the next run to resume from. Shared renders of patient packets
    live in `cache_dir` (default OUT/.cache); packs that share one, such as a clinic's
    days each in its own folder, render them once between them.
    """
    cache = cache_dir or out_dir / CACHE
    if any(job.personal for job in pack.jobs):
        make_folder(cache)  # one clear error before anything is written, not one a packet
    make_folder(out_dir)
    remove_stale_parts(out_dir)  # from a run that was killed outright
    if force:  # rebuild everything: the shared renders too (a new WeasyPrint, say)
        _prune_cache(cache, 0)
    previous = read_manifest(out_dir)
    planner = Planner(builder or Builder(content_dir, templates_dir))
    result = PackResult()
    done: dict[str, dict] = {}
    todo: list[tuple[Job, dict]] = []
    journal = Journal(out_dir)

    def finish(entry: dict) -> None:
        done[entry["file"]] = entry
        setattr(result, entry["status"], getattr(result, entry["status"]) + 1)
        if entry["status"] != "unchanged":
            journal.add(entry)
        if progress:
            progress(entry)

    old_handler = _stop_on_sigterm()
    try:
        for job in pack.jobs:
            entry, build = planner.entry(job, out_dir, previous.get(job.name), force)
            if build:
                todo.append((job, entry))
            else:
                finish(entry)
        if todo:
            shared = _shared(todo, cache, later=cache_dir is not None)
            _build(_spread(todo), shared, cache, out_dir, workers, content_dir, templates_dir,
                   finish)
    except KeyboardInterrupt:
        _close(journal, out_dir, previous | done)
        raise Interrupted(f"interrupted after {len(done)} of {len(pack.jobs)} jobs; "
                          "run the same command again to resume") from None
    except BrokenExecutor:  # a worker died (concurrent.futures.process.BrokenProcessPool)
        _close(journal, out_dir, previous | done)
        raise HandoutError(f"a worker process stopped unexpectedly after {len(done)} of "
                           f"{len(pack.jobs)} jobs (out of memory?); run again to resume"
                           ) from None
    finally:
        if old_handler is not None:
            signal.signal(signal.SIGTERM, old_handler)
    order = {job.name: n for n, job in enumerate(pack.jobs)}
    result.entries = sorted(done.values(), key=lambda e: order.get(e["file"], 0))
    for label, problem in pack.problems:
        result.entries.append({"file": None, "label": label, "status": "failed",
                               "error": problem})
        result.failed += 1
    journal.close()
    write_manifest(out_dir, result.entries)
    _prune_cache(cache, CACHE_DAYS)
    return result


def _spread(todo: list[tuple[Job, dict]]) -> list[tuple[Job, dict]]:
    """Patient jobs that share a render go after one of each has started, so that two
    workers rarely wait for the same shared render (see _composed)."""
    first, later, seen = [], [], set()
    for job, entry in todo:
        key = base_key(entry["inputs"]) if job.personal else None
        (later if key is not None and key in seen else first).append((job, entry))
        seen.add(key)
    return first + later


def _shared(todo: list[tuple[Job, dict]], cache: Path, later: bool = False) -> set[str]:
    """The keys of shared renders worth using: needed by two jobs or more, already made
    (by an earlier run, or another pack sharing the folder), or, with `later` (a cache
    the caller named, for days to come), every one: a lone packet then costs its cover
    and join once more today, and tomorrow's packet on that drug only its cover."""
    counts: dict[str, int] = {}
    for job, entry in todo:
        if job.personal:
            key = base_key(entry["inputs"])
            counts[key] = counts.get(key, 0) + 1
    return {key for key, count in counts.items()
            if later or count > 1 or (cache / f"{key}.pdf").is_file()}


def _build(todo: list[tuple[Job, dict]], shared: set[str], cache: Path, out_dir: Path,
           workers: int | None, content_dir: Path | None, templates_dir: Path | None,
           finish) -> None:
    """Build the planned jobs in a pool; call finish(entry) as each one ends."""
    count = min(workers or os.cpu_count() or 1, len(todo))
    # Imported here: a re-run with nothing to build never starts a worker (nor multiprocessing).
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(max_workers=count, initializer=_start_worker,
                               initargs=(content_dir, templates_dir))
    futures, recorded = [], set()
    try:
        futures = [pool.submit(_run_job, job, out_dir, entry,
                               cache if job.personal and base_key(entry["inputs"]) in shared
                               else None)
                   for job, entry in todo]
        for future in as_completed(futures):
            recorded.add(future)
            finish(future.result())
    except KeyboardInterrupt:
        pool.shutdown(wait=True, cancel_futures=True)
        # Jobs already in a worker's hands finish during shutdown: record them too.
        for future in futures:
            if (future not in recorded and future.done() and not future.cancelled()
                    and future.exception() is None):
                finish(future.result())
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _close(journal: Journal, out_dir: Path, entries: dict[str, dict]) -> None:
    journal.close()
    write_manifest(out_dir, list(entries.values()))


def merge(result: PackResult, out_dir: Path, name: str = "pack.pdf") -> Path | None:
    """One print-shop file of every built handout, in job order, one bookmark per handout
    (its own headings nested below), tagged like the handouts themselves (see join.py).
    None when no handout was built: the failures are the news, not an empty file."""
    from .join import Part, join

    parts = [Part(out_dir / entry["file"], f"{entry.get('title') or entry['file']} "
                                           f"({entry['file']})")
             for entry in result.entries if entry["status"] in ("built", "unchanged")]
    target = out_dir / name
    if not parts:
        return None
    write_atomic(target, join(parts, f"Patient handouts: {out_dir.name}"))
    return target
