"""The patient download page: a Flask app (`handouts serve`) and a static export
(`handouts site`), both thin layers over the same library.

    app.py    routes, security headers, friendly error pages
    jobs.py   form fields -> a checked RenderJob (allow-lists); the worker's render call
    pool.py   bounded render pool with a timeout; cache of non-personalised PDFs
    pages.py  the page's Jinja environment (templates/web) and context, shared with site.py
    site.py   static export: index.html and every PDF, built by the pack machinery
"""

from .app import create_app

__all__ = ["create_app"]
