"""Shared fixtures: one Builder for the session, and helpers that open real PDFs."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pdfplumber
import pytest
from pypdf import PdfReader

from handouts.build import Builder
from handouts.options import Options
from handouts.paths import default_content_dir

FIXTURES = Path(__file__).parent / "fixtures"


def pdf_text(path: Path) -> str:
    """All text of a PDF, whitespace folded, so phrases can be searched across line breaks."""
    reader = PdfReader(path)
    return re.sub(r"\s+", " ", " ".join(page.extract_text() or "" for page in reader.pages))


def page_texts(path: Path) -> list[str]:
    return [re.sub(r"\s+", " ", page.extract_text() or "") for page in PdfReader(path).pages]


def reader(path_or_bytes) -> PdfReader:
    if isinstance(path_or_bytes, bytes):
        return PdfReader(io.BytesIO(path_or_bytes))
    return PdfReader(path_or_bytes)


@pytest.fixture(scope="session")
def builder() -> Builder:
    return Builder()


@pytest.fixture(scope="session")
def built_all(builder, tmp_path_factory) -> dict[str, Path]:
    """Every standalone handout, built once: {'faq': path, 'drug-sheet-brigatinib': path, ...}."""
    out = tmp_path_factory.mktemp("all")
    results = list(builder.build_all(Options(), out))
    for result in results:
        assert not hasattr(result, "error"), result
        assert result.warnings == (), f"WeasyPrint warned: {result.warnings}"
    return {r.path.stem: r.path for r in results}


@pytest.fixture
def content_copy(tmp_path) -> Path:
    """A writable copy of the shipped English content, for tests that break one file (the
    Spanish folder is left out: tests/spanish.py makes Spanish copies)."""
    target = tmp_path / "content"
    shutil.copytree(default_content_dir(), target,
                    ignore=lambda folder, names: ["es"] if Path(folder) == default_content_dir()
                    else [])
    return target


def write_clinic(folder: Path) -> Path:
    """A fictional clinic with every field and a logo, written into folder."""
    shutil.copy(FIXTURES / "logo.png", folder / "logo.png")
    path = folder / "clinic.yaml"
    path.write_text(
        "name: Riverside Lung Clinic\n"
        "phone: 555-0100\n"
        "after_hours_phone: 555-0199\n"
        "address: 12 River Road, Springfield\n"
        "website: riverside.example.org\n"
        "logo: logo.png\n"
        "logo_alt: Riverside Lung Clinic logo\n", encoding="utf-8")
    return path


@pytest.fixture
def clinic_file(tmp_path) -> Path:
    return write_clinic(tmp_path)


def text_collisions(path) -> list[tuple[int, str]]:
    """(page, what) for text that runs into other text: a character drawn over the one
    before it on its line ("WednesdayThursday"), or a word that leaves its table cell
    ("Dosis tomada" over the next day's tick box). Empty for a clean PDF."""
    found = []
    with pdfplumber.open(path) as pdf:
        for number, page in enumerate(pdf.pages, 1):
            chars = sorted((c for c in page.chars if c["text"].strip()),
                           key=lambda c: (round(c["top"]), c["x0"]))
            found += [(number, a["text"] + b["text"])
                      for a, b in zip(chars, chars[1:], strict=False)
                      if abs(a["top"] - b["top"]) < 2
                      and a["x0"] <= b["x0"] < a["x1"] - 0.3 * (a["x1"] - a["x0"])]
            words = page.extract_words()
            for table in page.find_tables():
                # A box drawn round the table (the missed-dose box under a grid) is no cell.
                cells = [c for c in table.cells
                         if c[2] - c[0] < (table.bbox[2] - table.bbox[0]) * 0.9]
                for word in words:
                    x, y = (word["x0"] + word["x1"]) / 2, (word["top"] + word["bottom"]) / 2
                    cell = next((c for c in cells if c[0] <= x <= c[2] and c[1] <= y <= c[3]),
                                None)
                    if cell and (word["x0"] < cell[0] - 0.5 or word["x1"] > cell[2] + 0.5):
                        found.append((number, word["text"]))
    return found
