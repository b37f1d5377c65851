"""A patients CSV as spreadsheets really save it: Excel's encodings, stray columns, blank
rows, binary files by mistake, and files far larger than a clinic day."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from handouts.errors import HandoutError
from handouts.patients import UniqueNames, read_rows


def rows(tmp_path: Path, data: bytes) -> list[tuple[int, dict]]:
    path = tmp_path / "patients.csv"
    path.write_bytes(data)
    return list(read_rows(path))


@pytest.mark.parametrize("data", [
    "\ufeffname,drug\nZoë Ångström,alectinib\n".encode(),      # Excel "CSV UTF-8": a BOM
    "name,drug\r\nZoë Ångström,alectinib\r\n".encode("cp1252"),  # Excel "CSV" on Windows
    "name,drug\nZoë Ångström,alectinib\n".encode("latin-1"),
    "Name , DRUG\nZoë Ångström,alectinib\n\n,\n".encode(),        # header case, blank rows
])
def test_excel_encodings_and_headers_read_the_same_names(tmp_path, data):
    assert rows(tmp_path, data) == [(2, {"name": "Zoë Ångström", "drug": "alectinib"})]


@pytest.mark.parametrize("data, message", [
    (b"name,drug,ssn\nAna,alectinib,1\n",
     "row 1: unknown column 'ssn'; columns may be name, drug"),
    (b"name,drug,ssn,notes\n", "row 1: unknown columns 'ssn', 'notes'"),
    (b"drug,paper\nalectinib,a4\n", "row 1: the 'name' column is required"),
    (b"name,name\n", "row 1: column 'name' appears twice"),
    (b"", "empty; the first row must name the columns"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a CSV text file (it holds binary data)"),
    (b"name,drug\nAna,alectinib\n\"" + b"x" * 140_000 + b"\",alectinib\n",
     "row 3: a field is over 128 KB"),
])
def test_a_bad_file_is_one_line_naming_the_problem(tmp_path, data, message):
    with pytest.raises(HandoutError, match=re.escape(message)) as caught:
        rows(tmp_path, data)
    assert "\n" not in str(caught.value)


def test_a_row_with_more_cells_than_columns_is_marked_for_its_own_error(tmp_path):
    [(number, row)] = rows(tmp_path, b"name,drug\nAna,alectinib,oops\n")
    assert number == 2 and row["name"] == "Ana" and "\0extra" in row


def test_unique_names_step_over_real_numbered_names_and_stay_linear():
    unique = UniqueNames()
    assert [unique(s) for s in ["ana", "ana-2", "ana", "ana", "bo"]] == [
        "packet-ana.pdf", "packet-ana-2.pdf", "packet-ana-3.pdf", "packet-ana-4.pdf",
        "packet-bo.pdf"]
    # 12,000 rows of one name: a counter per name, not a scan of every earlier name.
    names = [unique("same") for _ in range(12_000)]
    assert len(set(names)) == 12_000 and names[-1] == "packet-same-12000.pdf"


def test_through_the_cli_a_bad_patients_file_is_one_line_and_exit_code_1(tmp_path):
    from click.testing import CliRunner

    from handouts.cli import cli

    (tmp_path / "patients.csv").write_bytes(b"PK\x03\x04\x00\x00 an .xlsx saved as .csv")
    (tmp_path / "pack.yaml").write_text("patients: patients.csv\n")
    result = CliRunner().invoke(cli, ["pack", str(tmp_path / "pack.yaml"), "--out",
                                      str(tmp_path / "out")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    [line] = result.output.strip().splitlines()
    assert line.endswith("patients.csv: not a CSV text file (it holds binary data); "
                         "save the spreadsheet as CSV")
