"""Renders for the web: a bounded worker pool with a timeout, and a cache of finished PDFs.

Rendering takes about half a second of CPU and a lot of memory, so the number of renders in
flight is capped (workers + queue); past that a request is told to come back (503) instead of
piling up. Each worker loads content, templates and fonts once, like a pack worker.
Non-personalised PDFs are kept in a size-bounded LRU cache keyed by their input hash, and
concurrent requests for the same PDF share one render. Personalised PDFs are never cached.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import signal
import threading
from collections import OrderedDict
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass
from pathlib import Path

from ..build import Builder
from ..options import Clinic
from ..pack import _templates_sha256
from . import jobs
from .jobs import RenderJob

LOGGER = logging.getLogger("handouts.web")


# WeasyPrint's memory grows by about 15 KB per render even with one shared font cache
# (benchmarks/README.md); a fresh worker every 500 renders keeps a long-running server flat,
# for about 1.5 s of start-up per 500 renders.
RECYCLE_AFTER = 500


class Busy(Exception):
    """Raised when every worker is busy and the queue is full: the caller should retry."""


class TooSlow(Exception):
    """Raised when a render does not finish within the pool's timeout."""


# ---- worker side ------------------------------------------------------------------

_WORKER: tuple[Builder, Clinic | None] | None = None
_THREAD = threading.local()


def _load(content_dir: Path | None, templates_dir: Path | None,
          clinic: Clinic | None) -> tuple[Builder, Clinic | None]:
    builder = Builder(content_dir, templates_dir)
    try:
        # One small render imports WeasyPrint and loads the fonts now, not for the first patient.
        jobs.render_job(builder, clinic, RenderJob("questions"))
    except Exception as exc:  # a broken override shows up per request, with a reference id
        LOGGER.warning("warm-up render failed: %s", type(exc).__name__)
    return builder, clinic


def _start_process(content_dir: Path | None, templates_dir: Path | None,
                   clinic: Clinic | None) -> None:
    global _WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which stops us
    _WORKER = _load(content_dir, templates_dir, clinic)


def _render_in_process(job: RenderJob, base: bytes | None = None,
                       templates: dict | None = None) -> bytes | tuple:
    # Bytes, not a RenderedPdf: unpickling that class would import WeasyPrint in the server.
    assert _WORKER is not None
    return _render(_WORKER, job, base, templates)


def _render(worker: tuple[Builder, Clinic | None], job: RenderJob, base: bytes | None,
            templates: dict | None = None) -> bytes | tuple:
    """A whole render (bytes), or with `base` (a shared render) only the job's personal
    fields, grafted onto one of `templates` or a template made now: (bytes, the new
    template or None), see jobs.compose_job."""
    if base is not None:
        return jobs.compose_job(*worker, job, base, templates)
    return jobs.render_job(*worker, job).data


def _start_thread(content_dir: Path | None, templates_dir: Path | None,
                  clinic: Clinic | None) -> None:
    _THREAD.worker = _load(content_dir, templates_dir, clinic)


def _render_in_thread(job: RenderJob, base: bytes | None = None,
                      templates: dict | None = None) -> bytes | tuple:
    return _render(_THREAD.worker, job, base, templates)


def _ready() -> None:
    """A no-op task: submitting one per worker starts the workers when the app starts."""


# ---- parent side ------------------------------------------------------------------

class RenderPool:
    """At most `workers` renders at once and `queue` more waiting; the rest get Busy.

    Processes by default (a crash or leak stays in the worker; a broken pool is replaced).
    `in_process=True` uses threads instead, for tests that patch the render function.
    """

    def __init__(self, content_dir: Path | None, templates_dir: Path | None,
                 clinic: Clinic | None, workers: int = 2, queue: int = 16,
                 timeout: float = 30.0, in_process: bool = False):
        self.timeout = timeout
        self._args = (content_dir, templates_dir, clinic)
        self._workers = workers
        self._in_process = in_process
        self._slots = threading.BoundedSemaphore(workers + queue)
        self._lock = threading.Lock()
        self._executor = self._new_executor()

    def _new_executor(self) -> Executor:
        if self._in_process:
            executor: Executor = ThreadPoolExecutor(
                self._workers, thread_name_prefix="render", initializer=_start_thread,
                initargs=self._args)
        else:
            # spawn, not fork: the server has threads, and forking a threaded process can
            # copy a lock that some other thread holds.
            executor = ProcessPoolExecutor(
                self._workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_process, initargs=self._args,
                max_tasks_per_child=RECYCLE_AFTER)
        for _ in range(self._workers):
            executor.submit(_ready)
        return executor

    def submit(self, job: RenderJob, base: bytes | None = None,
               templates: dict | None = None) -> Future:
        """Render job; with `base`, compose it from that shared render instead (with
        `templates`, see jobs.compose_job)."""
        if not self._slots.acquire(blocking=False):
            raise Busy
        target = _render_in_thread if self._in_process else _render_in_process
        try:
            executor = self._executor
            try:
                future = executor.submit(target, job, base, templates)
            except BrokenProcessPool:
                self._replace(executor)
                executor = self._executor
                future = executor.submit(target, job, base, templates)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda done: self._finished(done, executor))
        return future

    def _finished(self, future: Future, executor: Executor) -> None:
        self._slots.release()
        if not future.cancelled() and isinstance(future.exception(), BrokenProcessPool):
            self._replace(executor)

    def result(self, future: Future) -> bytes:
        """The render's result; TooSlow after the timeout (the render itself runs on, and
        keeps its slot until it ends, so slow renders cannot pile up past the bound)."""
        try:
            return future.result(timeout=self.timeout)
        except FutureTimeout:
            raise TooSlow from None

    def _replace(self, broken: Executor) -> None:
        """A worker died (out of memory?): start a fresh pool so the server keeps serving."""
        with self._lock:
            if self._executor is broken:
                LOGGER.error("a render worker stopped unexpectedly; starting new workers")
                broken.shutdown(wait=False, cancel_futures=True)
                self._executor = self._new_executor()

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


@dataclass(frozen=True)
class Pdf:
    data: bytes
    sha256: str
    filename: str


class PdfCache:
    """Least-recently-used PDFs, at most `max_bytes` in total."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, Pdf] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> Pdf | None:
        with self._lock:
            pdf = self._items.get(key)
            if pdf is not None:
                self._items.move_to_end(key)
            return pdf

    def put(self, key: str, pdf: Pdf) -> None:
        if len(pdf.data) > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            self._size -= len(old.data) if old else 0
            self._items[key] = pdf
            self._size += len(pdf.data)
            while self._size > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._size -= len(dropped.data)

    def __len__(self) -> int:
        return len(self._items)


class Templates:
    """Cover templates (graft.Template) by (base sha256, start date), then fields size;
    least recently used first out past `max_bytes`. They hold no personal data."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple, dict] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: tuple) -> dict:
        """A copy: the worker gets them pickled, the thread pool (tests) by reference."""
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return {}
            self._items.move_to_end(key)
            return dict(found)

    def put(self, key: tuple, template) -> None:
        if len(template.data) > self.max_bytes:
            return
        with self._lock:
            found = self._items.setdefault(key, {})
            self._items.move_to_end(key)
            old = found.pop(template.size, None)
            self._size += len(template.data) - (len(old.data) if old else 0)
            found[template.size] = template
            while self._size > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._size -= sum(len(t.data) for t in dropped.values())

    def __len__(self) -> int:
        return sum(len(found) for found in self._items.values())


class Downloads:
    """What the routes call: checked jobs in, PDFs out. The parent never renders: it only
    validates, hashes inputs and waits for the pool."""

    def __init__(self, builder: Builder, clinic: Clinic | None, pool: RenderPool,
                 cache_bytes: int = 64 * 2**20):
        self.builder = builder
        self.clinic = clinic
        self.pool = pool
        self.cache = PdfCache(cache_bytes)
        self.templates = Templates(cache_bytes // 4)
        self._inflight: dict[str, Future] = {}
        self._lock = threading.RLock()
        clinic_data = None
        if clinic is not None:
            logo = clinic.logo
            clinic_data = asdict(clinic) | {
                "logo": str(logo) if logo else None,
                "logo_sha256": hashlib.sha256(logo.read_bytes()).hexdigest() if logo else None}
        self._fixed = {"templates_sha256": _templates_sha256(builder), "clinic": clinic_data}

    def parse(self, values, personal: bool, lang: str = "en") -> RenderJob:
        return jobs.parse_job(values, self.builder, personal, lang)

    def cached(self, job: RenderJob) -> Pdf:
        """A non-personalised PDF: from the cache, or rendered once and kept. Also the
        shared renders personal PDFs are composed from (job.cover), in the same budget."""
        key = jobs.input_key(job, self.builder, self._fixed)
        with self._lock:
            pdf = self.cache.get(key)
            if pdf is not None:
                return pdf
            future = self._inflight.get(key)
            # A failed render may still be listed for a moment (its clean-up runs after its
            # waiters wake): never hand a retry the old failure.
            if future is None or (future.done() and (future.cancelled() or future.exception())):
                future = self.pool.submit(job)
                self._inflight[key] = future
                future.add_done_callback(lambda done: self._keep(key, job, done))
        self.pool.result(future)
        pdf = self.cache.get(key)
        # Evicted already (a tiny cache): build the answer from the render itself.
        return pdf or self._pdf(job, future.result())

    def _keep(self, key: str, job: RenderJob, future: Future) -> None:
        with self._lock:
            self._inflight.pop(key, None)
            if not future.cancelled() and future.exception() is None:
                self.cache.put(key, self._pdf(job, future.result()))

    def personalised(self, job: RenderJob) -> Pdf:
        """Made on demand for one person; held in memory only while it is sent. Only its
        cover is rendered: the rest comes from a shared render of the same handout without
        names (cached like any download), unless a dose makes the whole PDF personal."""
        if not job.composable:
            return self._pdf(job, self.pool.result(self.pool.submit(job)))
        base = self.cached(job.base())
        # The templates are this base's for this start date (graft.py): no names, so they
        # are kept like the base; the key is the base's hash and the date, nothing personal.
        key = (base.sha256, job.start)
        data, made = self.pool.result(self.pool.submit(job, base.data,
                                                       self.templates.get(key)))
        if made is not None:
            self.templates.put(key, made)
        return self._pdf(job, data)

    def _pdf(self, job: RenderJob, data: bytes) -> Pdf:
        return Pdf(data, hashlib.sha256(data).hexdigest(), jobs.file_name(job, self.builder))

    def close(self) -> None:
        self.pool.close()
