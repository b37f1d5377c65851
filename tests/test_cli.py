"""The command line as a user meets it: exit codes, one-line errors, no tracebacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import pdf_text
from handouts import __version__
from handouts.cli import cli


def run(*args: str, **kwargs):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, **kwargs)


def one_line_error(result) -> str:
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_help_is_fast_because_it_does_not_import_weasyprint():
    code = ("import sys; from handouts.cli import cli\n"
            "try:\n    cli(['--help'])\nexcept SystemExit:\n    pass\n"
            "bad = [m for m in ('weasyprint', 'pydantic', 'yaml') if m in sys.modules]\n"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_help_and_version():
    result = run("--help")
    assert result.exit_code == 0 and "handouts build drug-sheet --drug brigatinib" in result.output
    assert "--drug" in run("build", "--help").output
    assert run("--version").output.strip() == f"handouts, version {__version__}"


def test_list_shows_kinds_drugs_papers_and_profiles():
    result = run("list")
    assert result.exit_code == 0
    for word in ["faq", "drug-sheet", "questions", "alectinib", "Alunbrig", "ensartinib",
                 "letter", "a4", "standard"]:
        assert word in result.output


def test_build_one_handout_to_a_named_file(tmp_path):
    out = tmp_path / "sheet.pdf"
    result = run("build", "drug-sheet", "--drug", "Lorbrena", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "Lorlatinib (Lorbrena)" in pdf_text(out)


def test_build_default_name_under_out_dir(tmp_path):
    result = run("build", "drug-sheet", "--drug", "brigatinib", "--out-dir", str(tmp_path))
    assert result.exit_code == 0
    assert (tmp_path / "drug-sheet-brigatinib.pdf").is_file()


def test_build_all_writes_every_handout(tmp_path):
    result = run("build", "--all", "--out-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert len(list(tmp_path.glob("*.pdf"))) == 2 + 3 * 6  # FAQ, questions; 3 kinds per drug


def test_the_issue_example_with_clinic_and_personal_fields(tmp_path, clinic_file):
    out = tmp_path / "ana.pdf"
    result = run("build", "faq", "drug-sheet", "questions", "--drug", "alectinib",
                 "--clinic", str(clinic_file), "--patient", "Ana Diaz", "--prescriber",
                 "Dr. Lee", "--paper", "a4", "-o", str(out))
    assert result.exit_code == 0, result.output
    text = pdf_text(out)
    assert "Ana Diaz" in text and "Riverside Lung Clinic" in text and "600 mg" in text


@pytest.mark.parametrize("args, code, message", [
    (["build", "pamphlet"], 2, "'pamphlet' is not one of 'faq', 'drug-sheet', 'questions'"),
    (["build", "drug-sheet", "--drug", "aspirin"], 2,
     "unknown drug 'aspirin'; choose from: alectinib, brigatinib, ceritinib, crizotinib, "
     "ensartinib, lorlatinib"),
    (["build", "drug-sheet"], 2, "drug-sheet needs --drug; choose from: alectinib"),
    (["build"], 2, "name at least one handout kind"),
    (["build", "--all", "faq"], 2, "--all builds every handout"),
    (["build", "faq", "--paper", "a3"], 2, "'a3' is not one of 'letter', 'a4'"),
    (["build", "faq", "--date", "22/11/2026"], 2, "--date must be a date written YYYY-MM-DD"),
    (["build", "faq", "--patient", "x" * 101], 2, "--patient is longer than 100 characters"),
    (["build", "faq", "--clinic", "no-such-clinic.yaml"], 1, "no-such-clinic.yaml: file not found"),
])
def test_bad_input_gets_one_clear_line_and_an_exit_code(args, code, message, tmp_path):
    result = run(*args, "--out-dir", str(tmp_path))
    assert result.exit_code == code, result.output
    assert message in one_line_error(result)
    assert list(tmp_path.glob("*.pdf")) == []


def test_malformed_clinic_yaml_names_file_and_field(tmp_path):
    clinic = tmp_path / "clinic.yaml"
    clinic.write_text("name: Riverside\nphone: 555\nfax: 1\n")
    result = run("build", "faq", "--clinic", str(clinic), "--out-dir", str(tmp_path))
    assert result.exit_code == 1
    assert f"{clinic}:fax: is not a known field" in one_line_error(result)
    clinic.write_text("name: [unclosed\n")
    result = run("build", "faq", "--clinic", str(clinic), "--out-dir", str(tmp_path))
    assert result.exit_code == 1 and "YAML syntax error" in one_line_error(result)


def test_missing_logo_is_a_clear_error(tmp_path):
    clinic = tmp_path / "clinic.yaml"
    clinic.write_text("name: Riverside\nlogo: missing.png\n")
    result = run("build", "faq", "--clinic", str(clinic), "--out-dir", str(tmp_path))
    assert result.exit_code == 1
    assert "clinic.yaml:logo: file not found" in one_line_error(result)


def test_malformed_content_file_names_file_and_field(content_copy, tmp_path):
    drug = content_copy / "drugs" / "brigatinib.yaml"
    drug.write_text(drug.read_text().replace("missed_dose:", "missed_dos:"))
    result = run("build", "faq", "--content-dir", str(content_copy), "--out-dir", str(tmp_path))
    assert result.exit_code == 1
    line = one_line_error(result)
    assert "content/drugs/brigatinib.yaml:missed_dose: is required but missing" in line


def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = run("build", "faq", "-o", str(blocker / "out.pdf"))
    assert result.exit_code == 1
    assert "cannot write to folder" in one_line_error(result)


def test_installed_entry_point_runs(tmp_path):
    exe = Path(sys.executable).with_name("handouts")
    if not exe.exists():
        pytest.skip("the handouts script is not installed next to this Python")
    done = subprocess.run([str(exe), "build", "drug-sheet", "--drug", "nope"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().startswith("Error: unknown drug 'nope'")
