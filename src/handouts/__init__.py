"""Printable, sourced patient handouts for ALK-positive non-small-cell lung cancer.

The pipeline runs in one direction, one module per stage:
content.py (load + validate) → context.py (what a template sees) → render.py (HTML)
→ pdf.py (PDF file). build.py ties the stages together; cli.py is a thin layer over it.
"""

__version__ = "0.1.0"
