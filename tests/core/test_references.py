"""core.references: the talk's nine references, well-formed identifiers, unique keys."""

from __future__ import annotations

import re
from pathlib import Path

from core.references import ALL_REFERENCES, DATA_AND_METHOD_REFERENCES, TALK_REFERENCES

ARXIV = re.compile(r"^\d{4}\.\d{4,5}$")
DOI = re.compile(r"^10\.\d{4,9}/\S+$")


def test_the_talk_has_nine_references_with_the_expected_identifiers():
    assert len(TALK_REFERENCES) == 9
    ids = {r.key: (r.arxiv, r.doi) for r in TALK_REFERENCES}
    assert ids["baum_1988"][1] == "10.1016/0885-064X(88)90020-9"
    assert ids["belkin_2019"][0] == "1812.11118"
    assert ids["bubeck_li_nagaraj_2021"][0] == "2009.14444"
    assert ids["bubeck_sellke_2021"][0] == "2105.12806"
    assert ids["goodfellow_2015"][0] == "1412.6572"
    assert ids["szegedy_2014"][0] == "1312.6199"
    assert ids["madry_2018"][0] == "1706.06083"
    assert ids["zhang_2017"][0] == "1611.03530"
    assert ids["nakkiran_2020"][0] == "1912.02292"


def test_every_reference_is_well_formed_and_linked():
    keys = [r.key for r in ALL_REFERENCES]
    assert len(keys) == len(set(keys))
    for r in ALL_REFERENCES:
        assert r.arxiv or r.doi or r.url, r.key
        assert not r.arxiv or ARXIV.match(r.arxiv), r.arxiv
        assert not r.doi or DOI.match(r.doi), r.doi
        assert all(u.startswith(("https://", "http://")) for u in r.links.values())
        assert r.citation().startswith(r.authors) and str(r.year) in r.citation()
    assert {r.key: r for r in ALL_REFERENCES}["levina_bickel_2004"].year == 2004


# Where the app's words live: the pages, the slides, the chart builders and the sentences computed
# from the shipped results (and the law's sources on the recap page).
CITING = ("pages/*.py", "app/slides.py", "app/charts/*.py", "core/results/*.py",
          "core/experiments/robustness_law.py")
SURNAME = r"[A-Z][A-Za-z'-]+"
CITATION = re.compile(
    rf"({SURNAME})(?:, {SURNAME})*(?:,? (?:and|&amp;|&) {SURNAME})?( et al\.)?,? \(?(?:[A-Z]+ )?((?:19|20)\d\d)\b")
# Capitalized words a year can follow that are not authors.
NOT_AUTHORS = {"ILSVRC", "Python", "ICLR", "COLT", "NeurIPS", "ICML", "CVPR", "MNIST", "ImageNet"}


def cited_works() -> set[tuple[str, int]]:
    """(first author's surname, year) of every author-year citation in the app's texts."""
    repo = Path(__file__).resolve().parents[2]
    found = set()
    for pattern in CITING:
        for path in repo.glob(pattern):
            for surname, _, year in CITATION.findall(path.read_text()):
                if surname not in NOT_AUTHORS:
                    found.add((surname, int(year)))
    return found


def test_every_paper_the_app_cites_is_in_the_references():
    cited = cited_works()
    assert {("Bubeck", 2021), ("Madry", 2018), ("Wong", 2020), ("LeCun", 1998)} <= cited  # the scan works
    listed = {(r.authors.split(",")[0], r.year) for r in ALL_REFERENCES}
    assert cited <= listed, sorted(cited - listed)


def test_the_adversarial_training_and_attack_evaluation_papers_are_listed():
    refs = {r.key: r for r in DATA_AND_METHOD_REFERENCES}
    assert refs["wong_2020"].arxiv == "2001.03994" and refs["wong_2020"].year == 2020
    assert "Fast is better than free" in refs["wong_2020"].title
    assert refs["croce_hein_2020"].arxiv == "2003.01690" and "ICML" in refs["croce_hein_2020"].venue
