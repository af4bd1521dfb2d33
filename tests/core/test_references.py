"""core.references: the talk's nine references, well-formed identifiers, unique keys."""

from __future__ import annotations

import re

from core.references import ALL_REFERENCES, TALK_REFERENCES

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
