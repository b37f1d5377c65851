"""Render a page of each handout kind to a small PNG for the README (the calendar's grid
page, the first page of the others).

    python docs/make_previews.py        # writes docs/preview-*.png from real output

Uses pypdfium2 (installed with the test extras, through pdfplumber) to rasterise.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import pypdfium2

from handouts.build import Builder
from handouts.options import Clinic, Options, personal, schedule

DOCS = Path(__file__).resolve().parent
SAMPLES = [("faq", None, 0), ("drug-sheet", "brigatinib", 0), ("questions", None, 0),
           ("calendar", "brigatinib", 1), ("diary", "lorlatinib", 1)]
# The calendar preview shows a prescriber's schedule: without one, no day carries a dose.
PRESCRIBED = ("90 mg", "180 mg from day 8")
WIDTH_PX = 520


def main() -> None:
    builder = Builder()
    options = Options(clinic=Clinic(name="Riverside Lung Clinic", phone="555-0100",
                                    after_hours_phone="555-0199"),
                      personal=personal("Ana Diaz", "Dr. Lee", None),
                      schedule=schedule("2026-12-01"))
    with tempfile.TemporaryDirectory() as tmp:
        for kind, drug, page_index in SAMPLES:
            sample = (replace(options, schedule=schedule("2026-12-01", dose=PRESCRIBED))
                      if kind == "calendar" else options)
            built = builder.build([kind], drug, sample, Path(tmp) / f"{kind}.pdf")
            page = pypdfium2.PdfDocument(built.path)[page_index]
            scale = WIDTH_PX / page.get_width()
            target = DOCS / f"preview-{kind}.png"
            page.render(scale=scale).to_pil().save(target, optimize=True)
            print(f"wrote {target.relative_to(DOCS.parent)} ({built.pages} pages in the PDF)")


if __name__ == "__main__":
    main()
