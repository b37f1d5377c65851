"""Where compose.render_base keeps the parts it renders (a FAQ, a drug sheet, a stamp sheet
of page numbers) so that packets of different drugs share them.

Packs keep their shared renders (a whole packet, without names) in a FolderCache too.

A cache answers one question, `fetch(wanted)`: the bytes for each key, made by the key's
function when it has none. One call for all of a packet's parts, rather than get and put,
lets a cache shared by processes decide the order: a part another process is rendering
right now is waited for last, after this process has made the parts nobody else is making.

Nothing personal is ever in a part: render_base renders them from options without the
personal fields or a start date, and the keys are hashes of non-personal inputs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from .files import write_atomic

Wanted = dict[str, Callable[[], bytes]]
KEY = re.compile(r"[0-9a-f]{64}")  # the keys callers give: sha256 hex digests


class PartCache(Protocol):
    def fetch(self, wanted: Wanted) -> dict[str, bytes]:
        """Each wanted key's bytes, made (and kept) when not already kept."""


class MemoryCache:
    """Parts kept in this process (tests; a caller rendering a few packets in a row)."""

    def __init__(self) -> None:
        self.parts: dict[str, bytes] = {}

    def fetch(self, wanted: Wanted) -> dict[str, bytes]:
        for key, make in wanted.items():
            if key not in self.parts:
                self.parts[key] = make()
        return {key: self.parts[key] for key in wanted}


class FolderCache:
    """Parts kept as KEY.pdf files in a folder, shared by a pack's worker processes.

    Each file is written whole (files.write_atomic), so a file that is there is read
    without a lock. A missing one is made under KEY.lock, so that two workers never render
    the same part: a worker that finds a part's lock taken makes its other parts first.
    """

    def __init__(self, folder: Path):
        self.folder = folder

    def fetch(self, wanted: Wanted) -> dict[str, bytes]:
        found = {key: data for key in wanted if (data := self._read(key))}
        later = [key for key in wanted if key not in found
                 and not self._make(key, wanted[key], found, wait=False)]
        for key in later:
            self._make(key, wanted[key], found, wait=True)
        return {key: found[key] for key in wanted}

    def prune(self, since: float) -> None:
        """Forget what was neither made nor read since `since` (a time.time(); reading
        touches a file), so that renders of old content and templates do not pile up.
        Only files named as this cache names them (a sha256 key): a folder given with
        --cache may hold other files."""
        for path in self.folder.glob("*.pdf") if self.folder.is_dir() else []:
            if not KEY.fullmatch(path.stem):
                continue
            try:
                if path.stat().st_mtime < since:
                    path.unlink()
                    path.with_suffix(".lock").unlink(missing_ok=True)
            except OSError:  # gone already (another pack pruning the same folder)
                continue

    def _read(self, key: str) -> bytes:
        path = self.folder / f"{key}.pdf"
        try:
            data = path.read_bytes()
            if data.startswith(b"%PDF-") and b"%%EOF" in data[-32:]:
                os.utime(path)  # used: see prune
                return data
        except OSError:
            pass
        # Written whole, so anything else was not written by us: made again.
        return b""

    def _make(self, key: str, make: Callable[[], bytes], found: dict, wait: bool) -> bool:
        """Read or make one part under its lock; False when the lock is taken and not
        `wait`."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / f"{key}.lock", "w") as lock:
            if not _lock(lock, wait):
                return False
            try:
                data = self._read(key)  # made by another worker while we waited
                if not data:
                    data = make()
                    write_atomic(self.folder / f"{key}.pdf", data)
                found[key] = data
                return True
            finally:
                _unlock(lock)


def _lock(file, wait: bool) -> bool:
    """An advisory lock where the system has one (POSIX); elsewhere two workers may now
    and then render the same part, which costs time, not correctness."""
    try:
        import fcntl
    except ImportError:
        return True
    try:
        fcntl.flock(file, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _unlock(file) -> None:
    try:
        import fcntl
    except ImportError:
        return
    fcntl.flock(file, fcntl.LOCK_UN)
