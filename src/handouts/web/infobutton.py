"""HL7 infobutton: an EHR asks for a drug's handouts by RxNorm code or by name.

Follows the HL7 Context-Aware Knowledge Retrieval (Infobutton) URL-based implementation
guide the way MedlinePlus Connect does. The parameters read:

    mainSearchCriteria.v.c                  a code (RxNorm ingredient or product)
    mainSearchCriteria.v.cs                 its code system; RxNorm is 2.16.840.1.113883.6.88
    mainSearchCriteria.v.dn                 a display name ("alectinib 150 MG Oral Capsule
                                            [Alecensa]"): any generic or brand name in it
    informationRecipient.languageCode.c     en or es: links lead to that edition's PDFs
    knowledgeResponseType                   text/html (default) or application/json

The answer lists the drug's handouts (medicine sheet, calendar, diary) and the general ones
(FAQ, questions), each in every paper and print size, at the stable /pdf/ addresses. Both
the Flask route and the static export build their pages from `answer` here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..build import Builder
from ..codes import RXNORM_SYSTEM_OID, codes_for, drug_for_code, ingredient_code
from ..content import Drug
from ..kinds import KINDS
from ..links import pdf_path
from ..options import PAPERS, PROFILES
from .jobs import RenderJob, file_name

CODE = "mainSearchCriteria.v.c"
SYSTEM = "mainSearchCriteria.v.cs"
NAME = "mainSearchCriteria.v.dn"
LANGUAGE = "informationRecipient.languageCode.c"
RESPONSE_TYPE = "knowledgeResponseType"
JSON = "application/json"
# A language asked for that the content has no edition of falls back to English, with a note.
FALLBACK_NOTE = {
    "es": "Estos folletos todavía no están en español. Estos son en inglés. "
          "(These handouts are not yet available in Spanish; these are in English.)",
}


@dataclass(frozen=True)
class InfoRequest:
    code: str | None
    system: str | None
    name: str | None
    language: str
    json: bool


def parse(args: Mapping[str, str]) -> InfoRequest:
    """The infobutton parameters we read; anything else in the request is ignored."""
    def get(key: str) -> str | None:
        return (args.get(key) or "").strip()[:200] or None

    language = (get(LANGUAGE) or "en").lower().split("-")[0]
    return InfoRequest(get(CODE), get(SYSTEM), get(NAME), language,
                       (get(RESPONSE_TYPE) or "").lower() == JSON)


def find_drug(builder: Builder, request: InfoRequest) -> Drug | None:
    """The drug a request names: by RxNorm code first, then by any drug name in `dn`."""
    library = builder.library
    if request.code and (request.system in (None, RXNORM_SYSTEM_OID)):
        drug = drug_for_code(library, request.code)
        if drug is not None:
            return drug
    if request.name:
        words = set(re.findall(r"[a-z]+", request.name.lower()))
        for drug in library.drugs.values():
            if drug.generic.lower() in words or drug.brand.lower() in words:
                return drug
    return None


def answer(builder: Builder, drug: Drug, request: InfoRequest,
           href: Callable[[str], str]) -> dict:
    """What the infobutton answers for a drug: its handouts and the general ones, each with
    a link per paper and print size. `href` turns a site-relative path into a link."""
    served = request.language if request.language in builder.editions() else "en"
    entries = []
    for kind in KINDS.values():
        links = []
        for paper in PAPERS.values():
            for profile in PROFILES.values():
                job = RenderJob(kind.name, drug.id if kind.needs_drug else None, paper.name,
                                profile.name, lang=served)
                links.append({
                    "href": href(pdf_path(file_name(job, builder))), "type": "application/pdf",
                    "title": f"{paper.label.split(' (')[0]}, {profile.label.split(' (')[0]}",
                    "paper": paper.name, "profile": profile.name})
        title = builder.plan([kind.name], drug.id if kind.needs_drug else None)[0]
        label = f"{kind.label}: {title.drug.title}" if title.drug else kind.label
        entries.append({"kind": kind.name, "title": label, "summary": kind.description,
                        "link": links})
    note = None
    if served != request.language:
        note = FALLBACK_NOTE.get(request.language,
                                 "These handouts are only available in English for now.")
    return {"feed": {
        "title": f"Patient handouts for {drug.generic} ({drug.brand})",
        "language": served,
        "requestedLanguage": request.language,
        "note": note,
        "drug": {"id": drug.id, "generic": drug.generic, "brand": drug.brand,
                 "rxnorm": ingredient_code(drug), "codes": codes_for(drug)},
        "disclaimer": "Information only: it does not replace advice from the care team.",
        "entry": entries,
    }}


def not_found(builder: Builder, request: InfoRequest) -> dict:
    """The body of a 404: what was asked and which medicines we do have handouts for."""
    known = ", ".join(f"{d.generic} ({d.brand})" for d in builder.library.drugs.values())
    return {"error": {
        "status": 404,
        "message": "We have no handouts for that medicine. We have handouts for: "
                   f"{known}.",
        "code": request.code, "codeSystem": request.system, "name": request.name}}
