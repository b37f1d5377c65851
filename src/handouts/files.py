"""Output files: folders we make, names we choose, and writes that never lose a file.

Every file handouts writes goes through here, so the rules hold everywhere (build, pack,
site, manifests). It does not import WeasyPrint, so a pack re-run with nothing to build,
which only writes its manifest, never pays for importing it:

- a folder that cannot be made is one OutputError naming it, never a traceback;
- only a regular file or a new path is ever replaced: a FIFO, a device such as /dev/null,
  a symbolic link or a folder is refused, so `-o` can never turn them into a PDF;
- bytes go to a temporary file that is renamed into place, so a reader sees the old file
  or the whole new one, never half a PDF;
- a write that must not replace anything (a patient's handout) claims its name atomically.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
import unicodedata
from pathlib import Path

from .errors import OutputError

# mkstemp(prefix=".NAME.", suffix=".part") adds 8 characters from this alphabet; the
# names a pack writes end in .pdf, .json or .csv.
_PART = re.compile(r"\..+\.(pdf|json|csv)\.[a-z0-9_]{8}\.part")


def slugify(text: str, limit: int = 60) -> str:
    """A safe file-name part: ASCII letters, digits and dashes; never a path."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:limit].strip("-")
    return slug or "patient"


def make_folder(folder: Path) -> None:
    """Make a folder (and its parents), or raise one OutputError that says why not."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"cannot write to folder {folder}: a file with that name is in the "
                          "way") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        reason = getattr(exc, "strerror", None) or str(exc)
        raise OutputError(f"cannot write to folder {folder}: {reason}") from None


_KINDS = [(stat.S_ISDIR, "a folder"), (stat.S_ISLNK, "a symbolic link"),
          (stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a device"),
          (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket")]


def check_target(path: Path) -> None:
    """Refuse to write over anything but a regular file: only a file or a new path is OK."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except NotADirectoryError:
        raise OutputError(f"cannot write to folder {path.parent}: Not a directory") from None
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise OutputError(f"cannot write {path}: {reason}") from None
    for test, kind in _KINDS:
        if test(mode):
            raise OutputError(f"refusing to write {path}: it is {kind}, not a regular file")


class Taken(OutputError):
    """Raised when a write that must not replace anything finds its name already used."""


def write_atomic(path: Path, data: bytes, replace: bool = True) -> None:
    """Write a file so that a reader sees either the old file or the whole new one.

    The bytes go to a temporary file in the same folder, then a rename replaces the target;
    a failure part-way removes the temporary file and leaves no partial PDF behind. With
    replace=False the name is claimed with a hard link, which fails (Taken) if anything has
    that name, even when another process wrote it a moment ago.
    """
    if replace:
        check_target(path)
    folder = path.parent
    make_folder(folder)
    try:
        handle, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        raise OutputError(f"cannot write to folder {folder}: {exc.strerror}") from None
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        if replace:
            os.replace(tmp, path)
        else:
            _claim(tmp, path)
    except FileExistsError:
        raise Taken(f"{path} already exists") from None
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror}") from None
    finally:
        Path(tmp).unlink(missing_ok=True)


def _claim(tmp: str, path: Path) -> None:
    """Give tmp the name path only if nothing has it yet (FileExistsError otherwise)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
        # A file system without hard links: claim the name with an exclusive create, then
        # move the finished bytes over our own empty claim.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        os.replace(tmp, path)


def write_new(folder: Path, stem: str, data: bytes, limit: int = 1000) -> Path:
    """Write data as folder/stem.pdf, or stem-2.pdf, stem-3.pdf…: never over an existing file."""
    for n in range(1, limit + 1):
        path = folder / (f"{stem}.pdf" if n == 1 else f"{stem}-{n}.pdf")
        try:
            write_atomic(path, data, replace=False)
            return path
        except Taken:
            continue
    raise OutputError(f"{folder} already holds {limit} files named {stem}…; "
                      "move some away or choose a file with -o")


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
