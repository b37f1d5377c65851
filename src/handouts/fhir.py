"""A FHIR R4 DocumentReference for each PDF, so an EHR or integration engine can file it.

The resource says what the PDF is (patient education, in plain text: no LOINC document code
for "patient education" could be sourced, so `type` and `category` carry text only), when it
was made, its language, the content versions it was made from, and the PDF itself as an
attachment (base64 data, size, SHA-1 hash, title; plus the stable address when the PDF is
exactly the blank handout published there). A patient appears only as an identifier the user
passes (`--patient-id`), never as a name; the description never repeats a name either.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from .build import Builder, default_name
from .context import Part, build_context, content_files
from .errors import OptionError
from .links import pdf_path
from .options import Options

SUFFIX = ".fhir.json"
PATIENT_EDUCATION = "Patient education handout"
MAX_ID = 200


def patient_identifier(text: str | None) -> dict | None:
    """`--patient-id VALUE` or `SYSTEM|VALUE` (FHIR's token syntax) as an Identifier."""
    if text is None:
        return None
    system, _, value = text.rpartition("|")
    if not value.strip() or len(text) > MAX_ID or any(ord(ch) < 32 for ch in text):
        raise OptionError("--patient-id must be an identifier (VALUE or SYSTEM|VALUE), "
                          f"at most {MAX_ID} characters on one line")
    identifier = {"value": value.strip()}
    if system.strip():
        identifier["system"] = system.strip()
    return identifier


def document_reference(pdf: bytes, title: str, parts: list[Part], builder: Builder,
                       options: Options, stamp: datetime, patient_id: dict | None = None
                       ) -> dict:
    """The DocumentReference (as JSON-ready data) for one rendered PDF.

    `stamp` is when the reference was made (timezone-aware; the caller owns the clock).
    """
    files = content_files(parts, builder.library)
    versions = [f"{f.origin.shown} version {f.version}, checked {f.last_checked}" for f in files]
    kinds = ", ".join(part.kind.label for part in parts)
    attachment = {
        "contentType": "application/pdf",
        "language": "en",
        "data": base64.b64encode(pdf).decode("ascii"),
        "size": len(pdf),
        "hash": base64.b64encode(hashlib.sha1(pdf).digest()).decode("ascii"),  # FHIR asks SHA-1
        "title": title,
    }
    url = _published_url(parts, options)
    if url:
        attachment["url"] = url
    resource = {
        "resourceType": "DocumentReference",
        # Same bytes, same id: a re-run never files the same PDF twice.
        "masterIdentifier": {"system": "urn:ietf:rfc:3986",
                             "value": "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_OID,
                                                                   hashlib.sha256(pdf).hexdigest()))},
        "status": "current",
        "docStatus": "final",
        "type": {"text": PATIENT_EDUCATION},
        "category": [{"text": "Patient education"}],
        "date": stamp.isoformat(timespec="seconds"),
        "description": (f"{kinds}: printable information about ALK-positive lung cancer, "
                        f"for the patient. Made from content {'; '.join(versions)}. "
                        "Information only: it does not replace advice from the care team."),
        "content": [{"attachment": attachment}],
    }
    if options.clinic is not None:
        resource["custodian"] = {"display": options.clinic.name}
    if patient_id is not None:
        resource["subject"] = {"type": "Patient", "identifier": patient_id}
    return resource


def _published_url(parts: list[Part], options: Options) -> str | None:
    """The stable address of this PDF, only when the PDF is exactly the one published there:
    one blank, undated handout from a clinic with a site_url."""
    clinic = options.clinic
    if (clinic is None or not clinic.site_url or len(parts) != 1 or options.schedule.start
            or options.schedule.weeks or options.schedule.dose
            or any(vars(options.personal).values())):
        return None
    return f"{clinic.site_url}/{pdf_path(default_name(parts, options))}"


def to_json(resource: dict) -> bytes:
    return (json.dumps(resource, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def reference_path(pdf: Path) -> Path:
    """Where a PDF's DocumentReference goes: beside it, `NAME.fhir.json`."""
    return pdf.with_name(pdf.stem + SUFFIX)


def pack_references(builder: Builder, jobs: Iterable, entries: Iterable[dict], out_dir: Path,
                    stamp: datetime) -> list[tuple[Path, bytes]]:
    """(path, JSON) for every built or unchanged PDF of a pack: one reference per PDF."""
    by_name = {job.name: job for job in jobs}
    found = []
    for entry in entries:
        job = by_name.get(entry.get("file"))
        if job is None or entry["status"] not in ("built", "unchanged"):
            continue
        pdf = (out_dir / job.name).read_bytes()
        parts = builder.plan(list(job.kinds), job.drug)
        options = job.options()
        title = build_context(parts, builder.library, options)["document"]["title"]
        resource = document_reference(pdf, title, parts, builder, options, stamp)
        found.append((reference_path(out_dir / job.name), to_json(resource)))
    return found
