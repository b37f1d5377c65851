"""FHIR: `build --fhir` and packs with `fhir: true` write a DocumentReference beside each PDF
that validates as FHIR R4 and carries the PDF's own bytes, size and SHA-1 hash."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from fhir.resources.R4B.documentreference import DocumentReference
from pypdf import PdfReader

from handouts.cli import cli


def write_clinic(folder: Path) -> Path:
    path = folder / "clinic.yaml"
    path.write_text("name: Riverside Lung Clinic\n"
                    "site_url: https://riverside.example.org/handouts\n", encoding="utf-8")
    return path


def check_reference(path: Path, pdf: Path) -> dict:
    """Valid R4 (R4B's DocumentReference is R4's), and the attachment is exactly the PDF."""
    data = json.loads(path.read_text(encoding="utf-8"))
    resource = DocumentReference.model_validate(data)
    assert resource.status == "current"
    assert "Patient education" in resource.type.text
    assert resource.category[0].text == "Patient education"
    attachment = resource.content[0].attachment
    pdf_bytes = pdf.read_bytes()
    assert attachment.contentType == "application/pdf" and attachment.language == "en"
    assert base64.b64decode(data["content"][0]["attachment"]["data"]) == pdf_bytes
    assert attachment.size == len(pdf_bytes)
    assert data["content"][0]["attachment"]["hash"] == \
        base64.b64encode(hashlib.sha1(pdf_bytes).digest()).decode()
    assert attachment.title == PdfReader(io.BytesIO(pdf_bytes)).metadata.title
    assert data["date"].endswith("+00:00")
    return data


def test_a_drug_sheet_with_its_patient_identifier(tmp_path):
    result = CliRunner().invoke(cli, [
        "build", "drug-sheet", "--drug", "Alecensa", "--clinic", str(write_clinic(tmp_path)),
        "--fhir", "--patient-id", "urn:oid:1.2.36.146.595.217.0.1|MRN-0042",
        "--out-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    pdf = tmp_path / "drug-sheet-alectinib.pdf"
    data = check_reference(tmp_path / "drug-sheet-alectinib.fhir.json", pdf)
    assert data["subject"]["identifier"] == {"system": "urn:oid:1.2.36.146.595.217.0.1",
                                             "value": "MRN-0042"}
    assert "alectinib.yaml version 2.0" in data["description"]  # the content version
    assert data["content"][0]["attachment"]["url"] == \
        "https://riverside.example.org/handouts/pdf/drug-sheet-alectinib.pdf"
    assert data["custodian"]["display"] == "Riverside Lung Clinic"


def test_a_named_combined_handout_has_no_subject_no_url_and_no_name(tmp_path):
    result = CliRunner().invoke(cli, [
        "build", "faq", "questions", "--patient", "Ana Diaz", "--fhir",
        "--clinic", str(write_clinic(tmp_path)), "-o", str(tmp_path / "visit.pdf")])
    assert result.exit_code == 0, result.output
    data = check_reference(tmp_path / "visit.fhir.json", tmp_path / "visit.pdf")
    assert "subject" not in data
    assert "url" not in data["content"][0]["attachment"]  # the published PDF has no name
    assert "Stage IV FAQ, Questions to ask your doctor" in data["description"]
    del data["content"][0]["attachment"]["data"]
    assert "Ana" not in json.dumps(data)


@pytest.mark.parametrize("args", [
    ["--patient-id", "MRN-1"],                      # without --fhir
    ["--fhir", "--patient-id", "a\nb"],             # not one line
    ["--fhir", "--patient-id", "urn:oid:1.2|"],     # no value
])
def test_bad_fhir_options_are_one_line_and_exit_2(tmp_path, args):
    result = CliRunner().invoke(cli, ["build", "faq", "--out-dir", str(tmp_path), *args])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert not list(tmp_path.glob("*.pdf"))


def test_a_pack_with_fhir_writes_one_reference_per_pdf(tmp_path):
    (tmp_path / "pack.yaml").write_text(
        "fhir: true\n"
        "items:\n"
        "  - kinds: [faq]\n"
        "  - kinds: [calendar]\n"
        "    drugs: [lorlatinib]\n"
        "    start: 2026-12-01\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["pack", str(tmp_path / "pack.yaml"), "--out", str(out),
                                      "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "wrote 2 FHIR DocumentReferences" in result.output
    for pdf in sorted(out.glob("*.pdf")):
        check_reference(out / (pdf.stem + ".fhir.json"), pdf)
    assert len(list(out.glob("*.fhir.json"))) == 2
