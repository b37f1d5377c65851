"""Render the first page of each handout kind to a small PNG for the README.

    python docs/make_previews.py        # writes docs/preview-*.png from real output

Uses pypdfium2 (installed with the test extras, through pdfplumber) to rasterise.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pypdfium2

from handouts.build import Builder
from handouts.options import Clinic, Options, personal

DOCS = Path(__file__).resolve().parent
SAMPLES = [("faq", None), ("drug-sheet", "brigatinib"), ("questions", None)]
WIDTH_PX = 520


def main() -> None:
    builder = Builder()
    options = Options(clinic=Clinic(name="Riverside Lung Clinic", phone="555-0100",
                                    after_hours_phone="555-0199"),
                      personal=personal("Ana Diaz", "Dr. Lee", None))
    with tempfile.TemporaryDirectory() as tmp:
        for kind, drug in SAMPLES:
            built = builder.build([kind], drug, options, Path(tmp) / f"{kind}.pdf")
            page = pypdfium2.PdfDocument(built.path)[0]
            scale = WIDTH_PX / page.get_width()
            target = DOCS / f"preview-{kind}.png"
            page.render(scale=scale).to_pil().save(target, optimize=True)
            print(f"wrote {target.relative_to(DOCS.parent)} ({built.pages} pages in the PDF)")


if __name__ == "__main__":
    main()
