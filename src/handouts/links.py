"""Stable web addresses for handouts, and the QR code that prints them on paper.

Every standalone handout has one readable path, `pdf/<file name>`, where the file name is
the one `handouts build` and `handouts site` already give it (build.default_name): for
example `pdf/drug-sheet-alectinib-a4.pdf`. The static site writes its PDFs there and
`handouts serve` answers the same path, so a printed code works with either.

A code only ever points at the blank, undated version of a handout: a personalised or
dated handout leads to the same kind, drug, paper and print size without a name or date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PDF_DIR = "pdf"
# A clinic's published address: http(s), a host, an optional path; no query or fragment,
# so that appending "/pdf/<name>" always gives a well-formed address.
SITE_URL = re.compile(r"https?://[A-Za-z0-9.-]+(:\d+)?(/[A-Za-z0-9._~/-]*)?")


def check_site_url(url: str) -> str:
    """The clinic's site_url without a trailing slash; ValueError if it is not a plain
    http(s) address (no spaces, query or fragment)."""
    if not SITE_URL.fullmatch(url):
        raise ValueError("must be a web address like https://clinic.example.org/handouts "
                         "(http or https, no spaces, no ? or #)")
    return url.rstrip("/")


def pdf_path(file_name: str) -> str:
    """The path, relative to the site's root, where a handout's PDF is published."""
    return f"{PDF_DIR}/{file_name}"


@dataclass(frozen=True)
class OnlineLink:
    """Where a printed handout lives online: the full URL, the text printed under the code
    (the URL without its scheme) and the code itself as an SVG data URI."""

    url: str
    text: str
    qr: str


def online_link(site_url: str, file_name: str) -> OnlineLink:
    """The link and vector QR code for one handout file name under a clinic's site_url."""
    import segno  # only handouts with a site_url pay for the import

    url = f"{site_url}/{pdf_path(file_name)}"
    # Error correction M (15 %) survives smudges and folds; the 4-module quiet zone is the
    # standard's minimum, and scale 1 keeps the SVG small: it is vector, CSS sizes it.
    code = segno.make(url, error="m", micro=False)
    return OnlineLink(url, re.sub(r"^https?://", "", url),
                      code.svg_data_uri(scale=1, border=4, dark="#000"))
