"""Search documents: identifiers exact, divisions rolled up, payload enough to render a hit."""

from __future__ import annotations

from repository.search import analysis
from repository.search.documents import archive_document, division_path, structural_ancestors


def test_division_path_from_the_tree_or_the_code_shape():
    assert division_path("320102002") == ("320000", "320100", "320102", "320102002")
    assert division_path("320211") == ("320000", "320200", "320211")  # not in the bundled tree
    assert structural_ancestors("320100") == ["320000", "320100"]
    assert structural_ancestors("320000") == ["320000"]


def test_document_fields(demo, pdf_texts):
    archive = demo.archives()[0]
    doc = archive_document(archive, version="v3", texts=demo.texts_for(archive, pdf_texts))
    kw = doc.keywords
    assert kw["divisions"] == ("320000", "320100", "320102", "320102002")
    assert kw["resident_id"] == (demo.HEAD_ID, demo.SPOUSE_ID)
    assert kw["box"] == ("b0012",) and kw["volume"] == ("0001",) and kw["class"][0] == "application"
    assert kw["year"] == ("2019", "2020") and kw["status"] == ("provided",) and kw["retention"] == ("Y",)
    assert "王秀英" in doc.text["name"].split() and "住房困难" in doc.text["text"].split()
    assert set(analysis.words("玄武区梅园新村街道")) <= set(doc.text["all"].split())  # division names count
    stored = doc.stored()
    assert stored["version"] == "v3" and stored["items"][0]["text"].startswith("本人王秀英")
    assert stored["paper"][0]["reference_code"] == "A001-ZF·2019-Y-0001"
    assert stored["paper"][0]["items"] == [1, 2, 3, 4]


def test_supplement_records_the_original_volume(demo):
    supplement = demo.supplement_of_first(demo.archives()[0])
    doc = archive_document(supplement, version="v2", texts={})
    assert set(doc.keywords["box"]) == {"b0012", "b0014"}
    assert set(doc.keywords["volume"]) == {"0001", "0005"}
    volumes = {p["volume"]: p for p in doc.stored()["paper"]}
    assert volumes["0005"]["items"] == [5] and volumes["0005"]["original_volume"] == "0001"
