"""`handouts site`: the download page as static files, for any web server or CDN.

index.html links to every standalone handout (each kind, each drug for drug-based kinds)
in every paper size and print profile; index-es.html is the same page in Spanish, linking
the Spanish PDFs (one page per edition in i18n.LANGUAGES, each linking the others). The
PDFs are built by the pack machinery into pdf/, so its manifest and skip-if-unchanged
re-runs apply. Links are relative: opening index.html straight from disk works.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from .. import i18n
from ..build import Builder, default_name
from ..codes import codes_for
from ..files import make_folder, write_atomic
from ..i18n import _
from ..kinds import KINDS
from ..links import PDF_DIR
from ..options import PAPERS, PROFILES, Clinic
from ..pack import Job, Pack, PackResult, run_pack
from . import infobutton, pages

INFOBUTTON_DIR = "infobutton"


@dataclass(frozen=True)
class SiteResult:
    index: Path
    pack: PackResult


def _columns() -> list[tuple[str, str, str]]:
    """(paper, profile, header): 'US Letter, Standard print' (labels without their details),
    in the current language."""
    return [(paper.name, profile.name,
             f"{_(paper.label).split(' (')[0]}, {_(profile.label).split(' (')[0]}")
            for paper in PAPERS.values() for profile in PROFILES.values()]


def index_name(lang: str) -> str:
    return "index.html" if lang == i18n.DEFAULT else f"index-{lang}.html"


def _jobs(builder: Builder, clinic: Clinic | None, lang: str) -> dict[tuple, Job]:
    """One pack job per (kind, drug, paper, profile), keyed by that tuple."""
    jobs = {}
    for kind in KINDS.values():
        for drug in builder.library_for(lang).drugs if kind.needs_drug else [None]:
            parts = builder.plan([kind.name], drug, lang)
            for paper, profile, _label in _columns():
                job = Job("", (kind.name,), drug, paper, profile, clinic, lang=lang)
                name = default_name(parts, job.options())
                jobs[(kind.name, drug, paper, profile)] = replace(job, name=name, label=name)
    return jobs


def _sections(library, jobs: dict[tuple, Job], done: dict[str, dict]) -> list[dict]:
    """Per kind, table rows (one per drug, or one for the kind) of links to built PDFs."""
    sections = []
    for kind in KINDS.values():
        rows = []
        drugs = library.drugs.values() if kind.needs_drug else [None]
        for drug in drugs:
            cells = []
            for paper, profile, _label in _columns():
                job = jobs[(kind.name, drug.id if drug else None, paper, profile)]
                entry = done.get(job.name)
                ok = entry is not None and entry["status"] in ("built", "unchanged")
                cells.append({"href": f"{PDF_DIR}/{job.name}", "pages": entry["pages"]}
                             if ok else None)
            rows.append({"label": pages.drug_label(drug) if drug else _(kind.label),
                         "cells": cells})
        sections.append({"kind": kind, "rows": rows})
    return sections


def export_site(out_dir: Path, clinic: Clinic | None = None, workers: int | None = None,
                content_dir: Path | None = None, templates_dir: Path | None = None,
                force: bool = False, progress=None,
                languages: tuple[str, ...] | None = None) -> SiteResult:
    """Build every PDF into out_dir/pdf (incrementally) and write index.html beside it.

    A failed PDF is left out of the page (its cell says "Not available") and counted in
    the result; the others are still published.
    """
    make_folder(out_dir)  # a clear error before any work if it cannot be made
    builder = Builder(content_dir, templates_dir)
    languages = languages or builder.editions()
    editions = {}
    for lang in languages:
        with i18n.use(lang):
            editions[lang] = _jobs(builder, clinic, lang)
    every = [job for jobs in editions.values() for job in jobs.values()]
    result = run_pack(Pack(out_dir / PDF_DIR, every, clinic), out_dir / PDF_DIR,
                      workers, force, content_dir, templates_dir, progress)
    done = {entry["file"]: entry for entry in result.entries if entry.get("file")}
    for name, path in pages.static_files(clinic).items():
        write_atomic(out_dir / name, path.read_bytes())
    env = pages.environment()
    for lang, jobs in editions.items():
        urls = {"css": "site.css", "logo": pages.logo_name(clinic), "home": index_name(lang),
                "download": None, "personalised": None,
                "lang": {code: index_name(code) for code in languages}}
        with i18n.use(lang):
            library = builder.library_for(lang)
            context = pages.page_context(library, clinic, urls,
                                         sections=_sections(library, jobs, done),
                                         columns=[{"label": label} for *_, label in _columns()])
            html = pages.render(env, "site.html.j2", context)
        write_atomic(out_dir / index_name(lang), html.encode())
    _write_infobutton(out_dir, builder, clinic)
    return SiteResult(out_dir / index_name(languages[0]), result)


def _write_infobutton(out_dir: Path, builder: Builder, clinic: Clinic | None) -> None:
    """The static infobutton: infobutton/<code>.html and .json for every RxNorm code of
    every drug (and <drug id>.html/.json), since a static host cannot read a query string;
    infobutton/index.json maps each code to its drug. English only, like the handouts."""
    folder = out_dir / INFOBUTTON_DIR
    site_url = clinic.site_url if clinic else None
    urls = {"css": "../site.css", "logo": None, "home": "../index.html", "download": None,
            "personalised": None, "lang": {}}
    if pages.logo_name(clinic):
        urls["logo"] = "../" + pages.logo_name(clinic)
    asked = infobutton.parse({})
    index = {}
    for drug in builder.library.drugs.values():
        html_feed = infobutton.answer(builder, drug, asked, lambda path: "../" + path)
        json_feed = infobutton.answer(
            builder, drug, asked,
            lambda path: f"{site_url}/{path}" if site_url else "../" + path)
        context = pages.page_context(builder.library, clinic, urls, feed=html_feed["feed"],
                                     page_title=html_feed["feed"]["title"])
        html = pages.render(pages.environment(), "infobutton.html.j2", context).encode()
        for key in [*codes_for(drug), drug.id]:
            write_atomic(folder / f"{key}.html", html)
            write_atomic(folder / f"{key}.json", json.dumps(json_feed, indent=1).encode())
            index[key] = drug.id
    write_atomic(folder / "index.json", json.dumps({"rxnorm": index}, indent=1).encode())
