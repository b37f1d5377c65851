"""A pack's patients CSV: one personalised packet per row.

Spreadsheets save CSV in many ways, so the file is read as bytes and decoded here: UTF-8
(with or without Excel's byte-order mark), else Windows-1252 (Excel's "CSV" on Windows),
else Latin-1. Header names are matched without regard to case or surrounding spaces.
A file that is not text at all, or a field too large to be a name, is one clear line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from .errors import HandoutError

PATIENT_COLUMNS = ["name", "drug", "prescriber", "date", "paper", "start", "language"]
EXTRA = "\0extra"  # set on a row with more cells than the header has columns


def decode(data: bytes) -> str:
    """The text of a CSV file saved by Excel, LibreOffice or a script."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")  # never fails: every byte is a character


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number, {column: value}) for each data row; row 1 is the header.

    A row with more filled cells than the header has columns carries EXTRA (its cell
    count), for the caller to report as that row's problem.

    Raises HandoutError, naming the file, for an unreadable or binary file, a header with
    an unknown or missing column, or a field over 128 KB.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise HandoutError(f"{path}: cannot read patients file ({exc.strerror})") from None
    if b"\x00" in data[:65536]:
        raise HandoutError(f"{path}: not a CSV text file (it holds binary data); "
                           "save the spreadsheet as CSV")
    reader = csv.reader(io.StringIO(decode(data), newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise HandoutError(f"{path}:row 1: {_reason(exc)}") from None
    if not header:
        raise HandoutError(f"{path}: empty; the first row must name the columns "
                           f"({', '.join(PATIENT_COLUMNS)})")
    columns = [cell.strip().lower() for cell in header]
    unknown = [c for c in columns if c not in PATIENT_COLUMNS]
    if unknown:
        names = ", ".join(repr(c) for c in unknown)
        raise HandoutError(f"{path}:row 1: unknown column{'s' if len(unknown) > 1 else ''} "
                           f"{names}; columns may be {', '.join(PATIENT_COLUMNS)}")
    if "name" not in columns:
        raise HandoutError(f"{path}:row 1: the 'name' column is required")
    doubled = sorted({c for c in columns if columns.count(c) > 1})
    if doubled:
        raise HandoutError(f"{path}:row 1: column {doubled[0]!r} appears twice")
    number = 1
    try:
        for number, cells in enumerate(reader, start=2):
            if any(cell.strip() for cell in cells):  # Excel leaves blank rows at the end
                row = dict(zip(columns, (cell.strip() for cell in cells), strict=False))
                if any(cell.strip() for cell in cells[len(columns):]):
                    row[EXTRA] = str(len(cells))
                yield number, row
    except csv.Error as exc:
        raise HandoutError(f"{path}:row {number + 1}: {_reason(exc)}") from None


def _reason(exc: csv.Error) -> str:
    if "field larger than field limit" in str(exc):
        return "a field is over 128 KB; is this the patients file?"
    return f"not valid CSV ({exc})"


class UniqueNames:
    """Give each packet a file name no other packet has: packet-ana-diaz.pdf, then
    packet-ana-diaz-2.pdf. Linear in the number of rows (a counter per name, not a scan)."""

    def __init__(self) -> None:
        self.used: set[str] = set()
        self.next: dict[str, int] = {}

    def __call__(self, slug: str) -> str:
        name = f"packet-{slug}.pdf"
        n = self.next.get(slug, 2)
        while name in self.used:  # also steps over a real "ana-diaz-2" taken earlier
            name, n = f"packet-{slug}-{n}.pdf", n + 1
        self.next[slug] = n
        self.used.add(name)
        return name
