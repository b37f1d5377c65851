"""Untrusted text stays text; rendering reads only project files; writes are all-or-nothing."""

from __future__ import annotations

import pytest

from conftest import pdf_text, reader
from handouts.errors import OutputError
from handouts.options import Clinic, Options, personal
from handouts.pdf import SafeFetcher, write_atomic

INJECTIONS = [
    "<script>alert(1)</script>",
    "{{ 7*7 }}",
    '<img src="file:///etc/passwd">',
    '<link rel="attachment" href="file:///etc/passwd">',
]


def _embedded_files(pdf) -> list:
    names = pdf.trailer["/Root"].get("/Names")
    return list(names.get_object().get("/EmbeddedFiles", {}).get("/Names", [])) if names else []


@pytest.mark.parametrize("evil", INJECTIONS)
def test_injection_strings_appear_literally_and_nothing_is_fetched(builder, tmp_path, evil):
    options = Options(clinic=Clinic(name=evil, phone=evil, address=evil),
                      personal=personal(evil, evil, None))
    html = builder.html(builder.plan(["faq"]), options)
    if "<" in evil:
        assert evil not in html  # escaped in the HTML...
    assert "49" not in html.split("Prepared for")[1][:200]  # ...and never run as a template
    built = builder.build(["faq"], None, options, tmp_path / "x.pdf")
    text = pdf_text(built.path)
    assert evil in text  # ...and shown to the reader exactly as typed
    pdf = reader(built.path)
    assert _embedded_files(pdf) == []
    assert "root:x:0:0" not in text
    assert built.warnings == ()


def test_fetcher_refuses_network_and_files_outside_the_project(tmp_path):
    allowed = tmp_path / "assets"
    allowed.mkdir()
    (allowed / "ok.css").write_text("p {}")
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    fetcher = SafeFetcher([allowed])
    assert fetcher.fetch((allowed / "ok.css").as_uri()).read() == b"p {}"
    for url in ["https://example.org/x.png", "http://127.0.0.1/", "file:///etc/passwd",
                secret.as_uri(), (allowed / ".." / "secret.txt").as_uri(),
                "data:text/plain,hello", "ftp://example.org/x"]:
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    assert len(fetcher.refused) == 7


def test_fetcher_allows_a_named_file_only(tmp_path):
    logo = tmp_path / "logo.png"
    logo.write_bytes(b"png")
    (tmp_path / "other.png").write_bytes(b"png")
    fetcher = SafeFetcher([], files=[logo])
    assert fetcher.fetch(logo.as_uri()).read() == b"png"
    with pytest.raises(ValueError):
        fetcher.fetch((tmp_path / "other.png").as_uri())


def test_a_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "out.pdf"
    target.write_bytes(b"old complete file")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("handouts.files.os.replace", broken_replace)
    with pytest.raises(OutputError, match="No space left on device"):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old complete file"
    assert [p.name for p in tmp_path.iterdir()] == ["out.pdf"]


def test_an_unusable_output_folder_is_a_clear_error(tmp_path):
    # A folder path that runs through a regular file fails even for root (chmod would not).
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(OutputError, match="cannot write to folder"):
        write_atomic(blocker / "x.pdf", b"data")
