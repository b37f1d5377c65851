"""The download page's HTML, shared by the Flask app and the static export.

One Jinja environment over templates/web (autoescape on, StrictUndefined), and one function
that gathers what the page shows: the clinic's contacts, the handout kinds, the drugs, paper
sizes and print profiles. No Flask here, so `handouts site` renders the very same page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from .. import i18n
from ..content import Drug, Library
from ..i18n import N_, _
from ..kinds import KINDS
from ..options import MAX_NAME, PAPERS, PROFILES, Clinic
from ..paths import default_templates_dir
from ..render import FONT_DIR

PAGE_TITLE = N_("Handouts about ALK-positive lung cancer")


def web_dir() -> Path:
    """templates/web: the page templates and site.css (shipped in the wheel with templates/)."""
    return default_templates_dir() / "web"


def static_files(clinic: Clinic | None) -> dict[str, Path]:
    """The only files the page links to, by the name it uses; nothing else is ever served."""
    files = {
        "site.css": web_dir() / "site.css",
        "atkinson-regular.ttf": FONT_DIR / "AtkinsonHyperlegible-Regular.ttf",
        "atkinson-bold.ttf": FONT_DIR / "AtkinsonHyperlegible-Bold.ttf",
    }
    if clinic and clinic.logo:
        files["logo" + clinic.logo.suffix.lower()] = clinic.logo
    return files


def logo_name(clinic: Clinic | None) -> str | None:
    return "logo" + clinic.logo.suffix.lower() if clinic and clinic.logo else None


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(web_dir()),
        autoescape=True,  # every template, whatever its extension
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    # The same gettext as the handouts: the language is i18n.use()'s, per request.
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True)
    return env


@dataclass(frozen=True)
class Contact:
    label: str
    text: str
    href: str | None = None


def drug_label(drug: Drug) -> str:
    """'Brigatinib (Alunbrig)': how patients find their medicine in the list."""
    return f"{drug.generic[:1].upper()}{drug.generic[1:]} ({drug.brand})"


def _tel(phone: str) -> str | None:
    digits = re.sub(r"[^\d+]", "", phone)
    return f"tel:{digits}" if digits else None


def _website(site: str) -> str | None:
    """A link only for plain web addresses: never javascript: or data: URLs."""
    if re.match(r"https?://", site, re.IGNORECASE):
        return site
    if re.fullmatch(r"[\w-]+(\.[\w-]+)+(/\S*)?", site):
        return "https://" + site
    return None


def contacts(clinic: Clinic | None) -> list[Contact]:
    if clinic is None:
        return []
    found = []
    if clinic.phone:
        found.append(Contact(_("Phone"), clinic.phone, _tel(clinic.phone)))
    if clinic.after_hours_phone:
        found.append(Contact(_("Nights and weekends"), clinic.after_hours_phone,
                             _tel(clinic.after_hours_phone)))
    if clinic.address:
        found.append(Contact(_("Address"), clinic.address))
    if clinic.website:
        found.append(Contact(_("Website"), clinic.website, _website(clinic.website)))
    return found


def page_context(library: Library, clinic: Clinic | None, urls: dict[str, str | None],
                 **extra: Any) -> dict[str, Any]:
    """What every page template sees. `urls` holds css, logo, home, download, personalised:
    absolute paths for the server, relative ones for the static export. Call it inside
    i18n.use(library.lang); `languages` holds each edition's code, name and link."""
    kinds = list(KINDS.values())
    return {
        "page_title": _(PAGE_TITLE),
        "lang": library.lang,
        "languages": [{"code": code, "name": name, "href": (urls.get("lang") or {}).get(code)}
                      for code, name in i18n.LANGUAGES.items()],
        "clinic": clinic,
        "contacts": contacts(clinic),
        "urls": urls,
        "kinds": kinds,
        "drug_kinds": [_(k.label) for k in kinds if k.needs_drug],
        "dated_kinds": [_(k.label) for k in kinds if k.dated],  # take a first day
        "drugs": [{"id": d.id, "label": drug_label(d)} for d in library.drugs.values()],
        "papers": list(PAPERS.values()),
        "profiles": list(PROFILES.values()),
        "max_name": MAX_NAME,
        "emergency": library.common.emergency,
    } | extra


def render(env: jinja2.Environment, template: str, context: dict[str, Any]) -> str:
    return env.get_template(template).render(context)
