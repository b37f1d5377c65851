"""Accessible PDFs: tagged PDF/UA-1 with title and language, real structure, large type,
embedded Atkinson Hyperlegible, and AAA colour contrast in the stylesheet."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pdfplumber
import pikepdf
import pytest

from handouts.kinds import KINDS
from handouts.options import PROFILES, Options, load_clinic
from handouts.paths import default_templates_dir

MM = 72 / 25.4
# Page margins (top, bottom) in mm, as set in handout.css / profile-large-print.css: the
# body text lies between them; the running header and footer lie outside.
MARGINS = {"standard": (20, 24), "large-print": (18, 30)}
MIN_BODY_PT = {"standard": 12, "large-print": 18}


@pytest.fixture(scope="module")
def profile_pdfs(builder, tmp_path_factory, clinic_file_module):
    """Every kind in every profile, with a clinic logo, as one combined PDF per profile."""
    out = tmp_path_factory.mktemp("profiles")
    clinic = load_clinic(clinic_file_module)
    pdfs = {}
    for name, profile in PROFILES.items():
        built = builder.build(list(KINDS), "lorlatinib",
                              Options(profile=profile, clinic=clinic), out / f"{name}.pdf")
        assert built.warnings == ()
        pdfs[name] = built.path
    return pdfs


@pytest.fixture(scope="module")
def clinic_file_module(tmp_path_factory):
    from conftest import write_clinic

    return write_clinic(tmp_path_factory.mktemp("clinic"))


def structure(pdf: pikepdf.Pdf) -> list[pikepdf.Dictionary]:
    """Structure elements in document (reading) order."""
    found = []

    def walk(node):
        if "/S" in node:
            found.append(node)
        kids = node.get("/K")
        items = kids if isinstance(kids, pikepdf.Array) else [kids]
        for kid in items:
            if isinstance(kid, pikepdf.Dictionary):
                walk(kid)

    walk(pdf.Root.StructTreeRoot)
    return found


@pytest.mark.parametrize("profile", list(PROFILES))
def test_tagged_pdf_ua_with_title_and_language(profile_pdfs, profile):
    with pikepdf.open(profile_pdfs[profile]) as pdf:
        assert pdf.Root.MarkInfo.Marked is True
        assert "/StructTreeRoot" in pdf.Root
        assert str(pdf.Root.Lang) == "en"
        assert pdf.Root.ViewerPreferences.DisplayDocTitle is True
        assert str(pdf.docinfo.Title).startswith("Patient handouts: ")
        meta = pdf.open_metadata()
        assert meta.get("{http://www.aiim.org/pdfua/ns/id/}part") == "1"


@pytest.mark.parametrize("profile", list(PROFILES))
def test_headings_go_h1_h2_h3_without_skipping(profile_pdfs, profile):
    with pikepdf.open(profile_pdfs[profile]) as pdf:
        levels = [int(str(e.S)[2]) for e in structure(pdf) if re.fullmatch(r"/H[1-6]", str(e.S))]
    assert levels[0] == 1 and levels.count(1) == len(KINDS)  # one title per part
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:], strict=False)), levels


def test_lists_are_lists_and_tables_have_header_cells(profile_pdfs):
    with pikepdf.open(profile_pdfs["standard"]) as pdf:
        elements = structure(pdf)
        lists = [e for e in elements if e.S == "/L"]
        assert len(lists) > 10
        for element in lists:
            kids = element.K if isinstance(element.K, pikepdf.Array) else [element.K]
            # PDF 1.7 lets a list hold items or nested lists, nothing else.
            assert all(k.S in ("/LI", "/L") for k in kids if isinstance(k, pikepdf.Dictionary))
        assert any(e.S == "/Table" for e in elements)
        assert sum(1 for e in elements if e.S == "/TH") >= 2


def test_the_logo_has_alt_text(profile_pdfs):
    with pikepdf.open(profile_pdfs["standard"]) as pdf:
        alts = [str(e.Alt) for e in structure(pdf) if e.S == "/Figure"]
    assert alts.count("Riverside Lung Clinic logo") == len(KINDS)  # one per part
    assert all(alt.strip() for alt in alts)  # pictograms too: every figure says something


def _outloud(paths) -> dict:
    exe = Path(sys.executable).with_name("outloud")  # it has no `python -m` entry point
    done = subprocess.run([str(exe), "--json", "-", "--fail-on", "never", *map(str, paths)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_outloud_finds_no_pdf_ua_errors(profile_pdfs, built_all):
    report = _outloud([*profile_pdfs.values(), *built_all.values()])
    errors = [(r["path"], f["rule"], f["message"]) for r in report["results"]
              for f in r["findings"] if f["severity"] == "error"]
    assert errors == []
    assert all(r["verdict"] in ("pass", "review") for r in report["results"])


@pytest.mark.parametrize("profile", list(PROFILES))
def test_body_text_size_and_font_per_profile(profile_pdfs, profile):
    top, bottom = MARGINS[profile]
    sizes, fonts = set(), set()
    with pdfplumber.open(profile_pdfs[profile]) as pdf:
        for page in pdf.pages:
            for char in page.chars:
                if not char["text"].strip():
                    continue
                fonts.add(char["fontname"].split("+", 1)[-1])
                in_body = (char["top"] >= top * MM - 0.5
                           and char["bottom"] <= page.height - bottom * MM + 0.5)
                if in_body:
                    sizes.add(round(char["size"], 1))
    assert min(sizes) >= MIN_BODY_PT[profile], sorted(sizes)
    assert fonts <= {"Atkinson-Hyperlegible", "Atkinson-Hyperlegible-Bold"}, fonts
    if profile == "large-print":
        assert max(sizes) >= 22  # headings
        assert not any("Italic" in f for f in fonts)


def test_large_print_headings_are_at_least_22pt(profile_pdfs):
    with pdfplumber.open(profile_pdfs["large-print"]) as pdf:
        words = [w for page in pdf.pages
                 for w in page.extract_words(extra_attrs=["size", "fontname"])]
    heading_words = {"Common": None, "Pregnancy,": None, "Testing": None}  # h2 starts
    for word in words:
        if word["text"] in heading_words and word["fontname"].endswith("Bold"):
            heading_words[word["text"]] = word["size"]
    assert all(size and size >= 22 for size in heading_words.values()), heading_words


# ---- colour contrast, read from the stylesheet ----------------------------------------

def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_contrast_helper_matches_known_values():
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast("#777777", "#ffffff"), 2) == 4.48


def test_every_text_colour_meets_aaa_contrast_on_every_surface():
    css = "\n".join((default_templates_dir() / name).read_text()
                    for name in ["handout.css", *(p.stylesheet for p in PROFILES.values())])
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    variables = dict(re.findall(r"(--[\w-]+):\s*(#[0-9a-fA-F]{6})", css))

    def resolve(value: str) -> str:
        value = value.strip()
        match = re.fullmatch(r"var\((--[\w-]+)\)", value)
        return variables[match.group(1)] if match else value

    rules = re.findall(r"([^{}]+)\{([^{}]*)\}", css)
    surfaces, pairs = {variables["--paper"]}, []
    for _selector, body in rules:
        props = dict((k.strip(), v) for k, v in re.findall(r"([\w-]+)\s*:\s*([^;]+)", body))
        background = props.get("background") or props.get("background-color")
        colour = props.get("color")
        if background and colour:
            pairs.append((resolve(colour), resolve(background)))
        elif background:
            surfaces.add(resolve(background))
        elif colour:
            pairs.append((resolve(colour), None))
    assert len(pairs) >= 8 and len(surfaces) >= 3
    for colour, background in pairs:
        for surface in [background] if background else surfaces:
            assert contrast(colour, surface) >= 7, (colour, surface, contrast(colour, surface))
