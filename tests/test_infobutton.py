"""HL7 infobutton: an EHR asks for a drug's handouts by RxNorm code, by name, in a language,
as HTML or JSON, and gets every handout for that drug; an unknown code is a friendly 404."""

from __future__ import annotations

import json
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest

from handouts.codes import (
    INGREDIENTS,
    PRODUCTS,
    RXNORM_SYSTEM_OID,
    codes_for,
    drug_for_code,
    ingredient_code,
)
from handouts.kinds import KINDS
from handouts.options import Clinic
from handouts.web import create_app, jobs
from handouts.web.site import _write_infobutton

DRUGS = ["alectinib", "brigatinib", "ceritinib", "crizotinib", "ensartinib", "lorlatinib"]
BRANDS = {"alectinib": "Alecensa", "brigatinib": "Alunbrig", "ceritinib": "Zykadia",
          "crizotinib": "Xalkori", "ensartinib": "Ensacove", "lorlatinib": "Lorbrena"}


@pytest.fixture(scope="module")
def client():
    app = create_app(None, workers=1, in_process=True)
    yield app.test_client()
    app.extensions["handouts"].close()


def ask(client, json_answer=True, **params):
    query = {f"mainSearchCriteria.v.{k}": v for k, v in params.items() if k in "c cs dn"}
    if "lang" in params:
        query["informationRecipient.languageCode.c"] = params["lang"]
    if json_answer:
        query["knowledgeResponseType"] = "application/json"
    return client.get("/infobutton?" + urlencode(query))


def check_feed(response, drug: str, lang: str = "en") -> dict:
    assert response.status_code == 200, response.data[:300]
    feed = json.loads(response.data)["feed"]
    assert feed["drug"]["id"] == drug
    assert [e["kind"] for e in feed["entry"]] == list(KINDS)  # sheet, calendar, diary, FAQ, Qs
    hrefs = [link["href"] for entry in feed["entry"] for link in entry["link"]]
    assert len(hrefs) == len(KINDS) * 4  # every paper and print size
    suffix = "" if lang == "en" else f"-{lang}"
    assert f"http://localhost/pdf/drug-sheet-{drug}{suffix}.pdf" in hrefs
    assert f"http://localhost/pdf/faq-a4-large-print{suffix}.pdf" in hrefs
    return feed


@pytest.mark.parametrize("drug", DRUGS)
def test_every_drug_by_code_by_name_and_by_language(client, drug):
    for code in codes_for(drug_obj(client, drug)):
        check_feed(ask(client, c=code, cs=RXNORM_SYSTEM_OID), drug)
    check_feed(ask(client, dn=drug), drug)
    check_feed(ask(client, dn=f"{BRANDS[drug].upper()} 100 MG Oral Capsule"), drug)
    english = check_feed(ask(client, dn=BRANDS[drug], lang="en"), drug)
    assert english["note"] is None
    spanish = check_feed(ask(client, dn=drug, lang="es"), drug, "es")
    # The Spanish edition exists: its links lead to the Spanish PDFs, with no fallback note.
    assert spanish["language"] == "es" and spanish["note"] is None
    assert all(link["href"].endswith("-es.pdf") or "-es-" in link["href"]
               for entry in spanish["entry"] for link in entry["link"])


def drug_obj(client, drug):
    return client.application.extensions["handouts"].builder.library.drug(drug)


def test_html_is_the_default_answer_and_links_resolve(client):
    page = ask(client, json_answer=False, c=INGREDIENTS["lorlatinib"], lang="es")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "Medicine sheet: Lorlatinib (Lorbrena)" in html
    assert 'href="http://localhost/pdf/calendar-lorlatinib-a4-es.pdf"' in html
    pdf = client.get("/pdf/calendar-lorlatinib-a4-es.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    # And a language with no edition falls back to English, saying so.
    other = check_feed(ask(client, dn="lorlatinib", lang="fr"), "lorlatinib")
    assert other["language"] == "en" and other["requestedLanguage"] == "fr"
    assert "English" in other["note"]


@pytest.mark.parametrize("params", [
    {"c": "12345", "cs": RXNORM_SYSTEM_OID},                       # not one of ours
    {"c": INGREDIENTS["alectinib"], "cs": "2.16.840.1.113883.6.96"},  # a SNOMED code
    {"dn": "aspirin 81 MG"},
    {},
])
def test_an_unknown_medicine_is_a_friendly_404(client, params):
    page = ask(client, json_answer=False, **params)
    assert page.status_code == 404
    assert "We have no handouts for that medicine" in page.get_data(as_text=True)
    assert "Traceback" not in page.get_data(as_text=True)
    answer = ask(client, **params)
    assert answer.status_code == 404 and answer.mimetype == "application/json"
    assert "alectinib (Alecensa)" in json.loads(answer.data)["error"]["message"]


def test_codes_are_unique_and_ensartinib_has_no_ingredient_code(builder):
    seen = {}
    for drug in builder.library.drugs.values():
        for code in codes_for(drug):
            assert seen.setdefault(code, drug.id) == drug.id, code
    assert set(INGREDIENTS) == set(DRUGS) - {"ensartinib"}
    assert set(PRODUCTS) == set(DRUGS)


def test_a_drug_files_own_rxnorm_field_wins():
    """Content 2.0 gives each drug file an `rxnorm:` field; it replaces the table's code."""
    drug = SimpleNamespace(id="ensartinib", rxnorm="9999999")
    library = SimpleNamespace(drugs={"ensartinib": drug})
    assert ingredient_code(drug) == "9999999"
    assert codes_for(drug)[0] == "9999999" and PRODUCTS["ensartinib"][0] in codes_for(drug)
    assert drug_for_code(library, "9999999") is drug


def test_the_static_site_has_an_infobutton_file_per_code(builder, tmp_path):
    clinic = Clinic(name="Riverside Lung Clinic", site_url="https://riverside.example.org/h")
    _write_infobutton(tmp_path, builder, clinic)
    index = json.loads((tmp_path / "infobutton" / "index.json").read_text())["rxnorm"]
    assert index[INGREDIENTS["brigatinib"]] == "brigatinib" and index["ensartinib"] == "ensartinib"
    feed = json.loads((tmp_path / "infobutton" / f"{INGREDIENTS['brigatinib']}.json").read_text())
    hrefs = [link["href"] for entry in feed["feed"]["entry"] for link in entry["link"]]
    assert "https://riverside.example.org/h/pdf/drug-sheet-brigatinib.pdf" in hrefs
    html = (tmp_path / "infobutton" / "brigatinib.html").read_text()
    assert 'href="../pdf/diary-brigatinib-large-print.pdf"' in html
    assert 'href="../site.css"' in html
    # Every linked PDF is one the site publishes.
    published = set(jobs.published_jobs(builder))
    assert {h.rsplit("/", 1)[1] for h in hrefs} <= published
