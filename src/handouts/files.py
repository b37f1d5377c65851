"""Safe file writes, without WeasyPrint: the pack's bookkeeping and the site use them too.

`write_atomic` lives here (not in pdf.py) so that a pack re-run with nothing to build,
which only writes its manifest, never pays for importing WeasyPrint.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from .errors import OutputError

# mkstemp(prefix=".NAME.", suffix=".part") adds 8 characters from this alphabet; the
# names a pack writes end in .pdf, .json or .csv.
_PART = re.compile(r"\..+\.(pdf|json|csv)\.[a-z0-9_]{8}\.part")


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file so that a reader sees either the old file or the whole new one.

    The bytes go to a temporary file in the same folder, then a rename replaces the target;
    a failure part-way removes the temporary file and leaves no partial PDF behind.
    """
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        raise OutputError(f"cannot write to folder {folder}: {exc.strerror}") from None
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write {path}: {exc.strerror}") from None
        raise


def remove_stale_parts(folder: Path) -> int:
    """Delete temporary files that `write_atomic` left behind when its process was killed
    outright (SIGKILL, power cut), in folder and its direct subfolders (a pack's clinic
    folders); only regular files of our naming (".NAME.pdf.xxxxxxxx.part"), never deeper,
    so an --out pointed at a big folder by mistake is neither walked nor touched.
    Returns how many were removed."""
    removed = 0
    for path in [*folder.glob(".*.part"), *folder.glob("*/.*.part")]:
        if _PART.fullmatch(path.name) and path.is_file() and not path.is_symlink():
            path.unlink(missing_ok=True)
            removed += 1
    return removed
