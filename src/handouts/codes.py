"""RxNorm codes for the drugs, so an EHR can ask for a drug's handouts by code (infobutton).

Each code was looked up, not guessed; its source is beside it. A drug's content file may
declare its own ingredient code as `rxnorm:` (content 2.0); that wins over this table, which
is the fallback until every drug file carries one.

- Ingredient (IN) codes: the HL7 mCODE implementation guide's GenomeX examples, which code
  each ALK inhibitor as "medication assessed" with RxNorm
  (github.com/HL7/fhir-mCODE-ig, input/fsh/EX_GenomeX.fsh, "RXN#…"; brigatinib and
  ceritinib also in the published mCODE STU3 pages, hl7.org/fhir/us/mcode/STU3/
  Observation-gx-genomic-therapeutic-implication-*.html).
- Product (SCD/SBD/pack) codes: an EHR's infobutton usually sends the code of the ordered
  product, not the ingredient. These are the `openfda.rxcui` lists of each drug's NDC
  record on api.fda.gov/drug/ndc.json (and ndclist.com's RxNorm crosswalk for Alecensa).
- Ensartinib (Ensacove, approved December 2024) has no sourced ingredient code yet: only its
  product codes. Check every code against RxNav before a release.
"""

from __future__ import annotations

from .content import Drug, Library

RXNORM_SYSTEM_OID = "2.16.840.1.113883.6.88"  # RxNorm, as infobutton requests name it
RXNORM_SYSTEM_URI = "http://www.nlm.nih.gov/research/umls/rxnorm"  # the same, in FHIR

# drug id -> RxNorm ingredient (IN) code. Source: HL7/fhir-mCODE-ig input/fsh/EX_GenomeX.fsh.
INGREDIENTS: dict[str, str] = {
    "alectinib": "1727455",
    "brigatinib": "1921217",
    "ceritinib": "1535457",
    "crizotinib": "1148495",
    "lorlatinib": "2103164",
    # ensartinib: no sourced ingredient code (see the module docstring).
}

# drug id -> product codes (clinical and branded drugs, packs).
PRODUCTS: dict[str, tuple[str, ...]] = {
    # ndclist.com/ndc/50242-130 (Alecensa 150 mg capsule): SCD and SBD.
    "alectinib": ("1727479", "1727485"),
    # api.fda.gov/drug/ndc.json product_ndc 63020-113 (Alunbrig).
    "brigatinib": ("1921222", "1921228", "1925494", "1988768", "1988770", "1988772",
                   "1988785", "1988786"),
    # api.fda.gov/drug/ndc.json product_ndc 0078-0694 (Zykadia 150 mg tablet); the record
    # seen lists more codes than the excerpt showed, so only the first is kept.
    "ceritinib": ("2121059",),
    # api.fda.gov/drug/ndc.json product_ndc 0069-8140 (Xalkori).
    "crizotinib": ("1148498", "1148502", "1148504", "1148506", "2670166", "2670170",
                   "2670172", "2670174", "2670176", "2670178"),
    # api.fda.gov/drug/ndc.json package 83076-1025-3 (Ensacove).
    "ensartinib": ("2712634", "2712640", "2712642", "2712644"),
    # api.fda.gov/drug/ndc.json product_ndc 0069-0231 (Lorbrena).
    "lorlatinib": ("2103169", "2103175", "2103177", "2103179"),
}


def ingredient_code(drug: Drug) -> str | None:
    """The drug's RxNorm ingredient code: its content file's `rxnorm` when it has one."""
    return getattr(drug, "rxnorm", None) or INGREDIENTS.get(drug.id)


def codes_for(drug: Drug) -> list[str]:
    """Every RxNorm code that names this drug: the ingredient first, then its products."""
    found = [ingredient_code(drug), *PRODUCTS.get(drug.id, ())]
    return [code for code in found if code]


def drug_for_code(library: Library, code: str) -> Drug | None:
    """The drug an RxNorm code names (ingredient or product), or None."""
    code = code.strip()
    for drug in library.drugs.values():
        if code in codes_for(drug):
            return drug
    return None
