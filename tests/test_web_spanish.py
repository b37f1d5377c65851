"""The download page, the clinic pack and the static site in Spanish."""

from __future__ import annotations

import pytest

from conftest import pdf_text, reader
from handouts.build import Builder
from handouts.pack import load_pack
from handouts.web import create_app
from spanish import spanish_content


@pytest.fixture(scope="module")
def content(tmp_path_factory):
    return spanish_content(tmp_path_factory.mktemp("es") / "content")[0]


@pytest.fixture(scope="module")
def client(content):
    app = create_app(None, content, workers=1, in_process=True)
    yield app.test_client()
    app.extensions["handouts"].close()


def test_lang_es_gives_the_spanish_page_with_a_switch_back(client):
    response = client.get("/?lang=es")
    html = response.get_data(as_text=True)
    assert response.headers["Content-Language"] == "es"
    assert '<html lang="es">' in html
    assert "Folletos sobre el cáncer de pulmón ALK positivo" in html
    assert '<a href="/?lang=en" lang="en" hreflang="en">English</a>' in html
    assert '<span aria-current="true" lang="es">Español</span>' in html
    assert '<input type="hidden" name="lang" value="es">' in html
    assert "Download:" not in html and "Choose your options" not in html


@pytest.mark.parametrize(("header", "lang"), [
    ("es-MX,es;q=0.9,en;q=0.5", "es"), ("en-US,en;q=0.9", "en"), ("fr-FR", "en"), ("", "en"),
])
def test_accept_language_is_the_default(client, header, lang):
    response = client.get("/", headers={"Accept-Language": header} if header else {})
    assert f'<html lang="{lang}">' in response.get_data(as_text=True)
    assert "Accept-Language" in response.headers["Vary"]


def test_an_unknown_lang_is_the_default_page_not_an_error(client):
    response = client.get("/?lang=fr", headers={"Accept-Language": "en"})
    assert response.status_code == 200 and '<html lang="en">' in response.get_data(as_text=True)


def test_a_spanish_download_is_a_spanish_pdf(client):
    response = client.get("/download?kind=drug-sheet&drug=Alecensa&lang=es")
    assert response.status_code == 200
    assert 'filename="drug-sheet-alectinib-es.pdf"' in response.headers["Content-Disposition"]
    pdf = reader(response.data)
    assert str(pdf.trailer["/Root"]["/Lang"]) == "es"
    english = client.get("/download?kind=drug-sheet&drug=alectinib&lang=en")
    assert english.headers["ETag"] != response.headers["ETag"]  # cached apart


def test_error_pages_speak_the_visitors_language(client):
    missing = client.get("/nowhere?lang=es")
    assert missing.status_code == 404
    assert "No pudimos encontrar esa página" in missing.get_data(as_text=True)
    bad = client.get("/download?kind=leaflet&lang=es")
    assert "No tenemos un tipo de folleto llamado “leaflet”" in bad.get_data(as_text=True)
    no_drug = client.get("/download?kind=drug-sheet&lang=es", headers={"Accept-Language": "es"})
    assert "Por favor elija su medicina" in no_drug.get_data(as_text=True)


def test_a_pack_item_names_its_languages_and_a_csv_row_its_language(content, tmp_path):
    (tmp_path / "patients.csv").write_text(
        "name,drug,language\nAna Diaz,alectinib,es\nBo Lee,lorlatinib,\nCy,brigatinib,fr\n",
        encoding="utf-8")
    (tmp_path / "pack.yaml").write_text(
        "items:\n  - kinds: [drug-sheet]\n    drugs: [alectinib]\n    languages: [en, es]\n"
        "patients: patients.csv\n", encoding="utf-8")
    pack = load_pack(tmp_path / "pack.yaml", Builder(content))
    names = {job.name: job.lang for job in pack.jobs}
    assert names["drug-sheet-alectinib.pdf"] == "en"
    assert names["drug-sheet-alectinib-es.pdf"] == "es"
    assert names["packet-ana-diaz-es.pdf"] == "es" and names["packet-bo-lee.pdf"] == "en"
    assert pack.problems == [("row 4", "patients.csv:row 4: language must be one of en, es, "
                              "not 'fr'")]


def test_the_static_site_writes_both_editions(content, tmp_path, monkeypatch):
    """Both pages, each linking the other and its own language's PDFs (the PDFs themselves
    are stubbed here: tests/test_site.py builds real ones)."""
    from handouts.web import site

    def fake_run_pack(pack, out_dir, *args, **kwargs):
        from handouts.pack import PackResult

        return PackResult(built=len(pack.jobs), entries=[
            {"file": job.name, "status": "built", "pages": 2} for job in pack.jobs])

    monkeypatch.setattr(site, "run_pack", fake_run_pack)
    result = site.export_site(tmp_path / "site", content_dir=content)
    english = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    spanish = (tmp_path / "site" / "index-es.html").read_text(encoding="utf-8")
    assert result.index.name == "index.html"
    assert 'href="index-es.html"' in english and 'href="index.html"' in spanish
    assert "pdf/drug-sheet-alectinib-es.pdf" in spanish
    assert "pdf/drug-sheet-alectinib.pdf" in english and "-es.pdf" not in english
    assert "Preguntas frecuentes sobre el estadio IV" in spanish
    assert "2 páginas" in spanish


def test_the_pdf_text_is_spanish(client):
    response = client.get("/download?kind=calendar&drug=brigatinib&start=2026-12-01&lang=es")
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(response.data)
        handle.flush()
        text = pdf_text(handle.name)
    assert "1 de diciembre de 2026" in text and "Calendario de la medicina" in text


def test_a_spanish_dose_change_is_understood():
    from handouts.options import dose_steps

    assert [(s.start_day, s.amount) for s in dose_steps(["90 mg", "180 mg desde el día 8"])] \
        == [(1, "90 mg"), (8, "180 mg")]
