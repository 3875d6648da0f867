"""Resident identity numbers are masked for callers not allowed to see them, highlights included."""

from __future__ import annotations

from repository.privacy import mask_text
from repository.search import Hit, mask_hit, mask_resident_id


def test_mask_resident_id():
    assert mask_resident_id("110101199001011234") == "110101********1234"
    assert mask_resident_id("11010119900101123X") == "110101********123X"
    assert mask_resident_id("110101900101123") == "110101*****1123"
    assert mask_resident_id("12345") == "*****"


def test_mask_text_sees_through_highlight_tags():
    assert mask_text("<em>110101199001011234</em>、320102195501201219") == (
        "<em>110101********1234</em>、320102********1219")
    assert mask_text("11010119900101<em>1234</em>") == "110101********<em>1234</em>"
    assert mask_text("档号 A001-ZF·2019-Y-0001，电话 025-84561234") == "档号 A001-ZF·2019-Y-0001，电话 025-84561234"


def test_mask_hit():
    hit = Hit("HH-1", "王秀英户", "320102", ({"title": "身份证110101199001011234复印件"},), (),
              {"resident_id": "<em>110101199001011234</em>"}, 1.0)
    masked = mask_hit(hit)
    assert masked.items[0]["title"] == "身份证110101********1234复印件"
    assert masked.highlights["resident_id"] == "<em>110101********1234</em>"
    assert hit.highlights["resident_id"] == "<em>110101199001011234</em>"  # the original is untouched


def test_an_archive_identifier_with_many_digits_is_kept_in_the_index(demo, pdf_texts, tmp_path):
    """The identity-number mask hides any run of 15+ digits; an archive's identifier is its key (what a hit
    links to, what people_of looks up to mask a researcher's names), so the index keeps it as it is."""
    import dataclasses

    from repository.search.documents import archive_document
    from repository.search.idkeys import protect
    from repository.search.opening import open_engine
    from repository.search.results import SearchRequest

    ident = "HH-320106010-0001479"  # 16 digits: masked as an identity number would be
    archive = dataclasses.replace(demo.archives()[0], identifier=ident)
    doc = archive_document(archive, version="v1", texts=demo.texts_for(archive, pdf_texts))
    held = protect(doc, b"k" * 32)
    assert held.stored()["id"] == ident and ident.lower() in held.text["all"].lower().split()
    assert demo.HEAD_ID not in held.payload and demo.HEAD_ID[6:14] not in held.payload  # people's numbers masked
    engine = open_engine("tantivy", tmp_path / "index", id_key=b"k" * 32)
    try:
        engine.add([doc])
        engine.commit()
        for query in (archive.household.head.name, f"id:{demo.HEAD_ID}", f"archive_id:{ident}"):
            found = engine.search(SearchRequest(query=query))
            assert [h.archive_id for h in found.hits] == [ident], query
    finally:
        engine.close()
