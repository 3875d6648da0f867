"""Searchable scans: OCR text stored as signed derivatives, found by search with its page, and accurate.

Real tesseract on real demo scans (the housing proofs 无房证明 carry known text); the store is validated by
ocfl-py and audited after OCR; both search engines are asked.
"""

from __future__ import annotations

import json
import re
import unicodedata
import warnings
from pathlib import Path
from types import ModuleType

import pytest

from repository import filerefs
from repository.formats.scanpages import page_images, scan_kind
from repository.formats.tesseract import engine_info, recognize, recognize_all, tidy
from repository.home import Repository
from repository.preservation.aip_layout import OCR_PREFIX, ocr_page_path, ocr_record_path, premis_path
from repository.preservation.ids import object_id
from repository.preservation.premis_history import read_history
from repository.preservation.premis_read import parse_premis

from .conftest import SCAN_PHRASE, OcrHome


def accuracy(found: str, truth: str) -> float:
    """Character accuracy: 1 - edit distance / length of the truth (NFKC, whitespace ignored)."""
    def norm(s: str) -> str:
        return re.sub(r"\s+", "", unicodedata.normalize("NFKC", s))

    a, b = norm(found), norm(truth)
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return 1 - row[len(b)] / len(b)


def test_accuracy_measure_counts_edits() -> None:
    assert accuracy("无房证明", "无房证明") == 1.0
    assert accuracy("无房证", "无房证明") == 0.75 and accuracy("无厉证明", "无房证明") == 0.75
    assert accuracy("编号: 2019", "编号：2019") == 1.0  # full-width and ASCII punctuation are one character


def test_engine_names_tool_version_and_model() -> None:
    engine = engine_info("chi_sim")
    assert engine.tool == "tesseract" and re.fullmatch(r"5\.\d+\.\d+.*", engine.version), engine
    assert engine.model.startswith("chi_sim 4.") and engine.label == f"tesseract {engine.version}, {engine.model}"


def test_tidy_joins_hanzi_split_by_spaces() -> None:
    assert tidy("无 房 证 明\n\n\n编号 : 2019 - 1\f") == "无房证明\n\n编号 : 2019 - 1"


def test_demo_clean_scans_read_at_least_95_percent_right(demo) -> None:  # noqa: ANN001
    truths = {demo.root / e["path"] / p: pages for e in demo.entries for p, pages in e.get("ocr_truth", {}).items()}
    assert len(truths) == 3  # one housing proof per demo household
    texts = list(recognize_all(list(truths), workers=2))
    scores = [accuracy(t.text, pages[0]) for t, pages in zip(texts, truths.values(), strict=True)]
    assert all(s >= 0.95 for s in scores), scores


# ----- page images -----------------------------------------------------------------------------------------


def _text_page(title: str):  # noqa: ANN202 - PIL image
    from repository.demo.textscan import text_scan

    return text_scan(title, ("经房屋权属档案查询，未发现名下登记的", "住宅类房产信息。"))


def test_page_images_of_each_kind(tmp_path: Path, demo) -> None:  # noqa: ANN001
    from repository.demo.docs import tiff_bytes

    work = tmp_path / "work"
    work.mkdir()
    multi = tmp_path / "two.tif"
    multi.write_bytes(tiff_bytes([_text_page("第一页"), _text_page("第二页")], dpi=300))
    pages = page_images(multi, work, "m")
    assert [p.number for p in pages] == [1, 2] and all(p.image and p.image.parent == work for p in pages)
    alone = tmp_path / "alone"  # one page asked for: that page alone is written out (a review page's original)
    alone.mkdir()
    [second] = page_images(multi, alone, "a", only=2)
    assert second.number == 2 and [f.name for f in alone.iterdir()] == ["a.p0002.tif"]
    assert page_images(multi, alone, "a", only=3) == [] and page_images(multi, alone, only=0) == []
    png = tmp_path / "one.png"
    _text_page("证明").save(png)
    assert [(p.number, p.image) for p in page_images(png, work)] == [(1, png)]
    scanned_pdf = tmp_path / "scan.pdf"  # Pillow writes one embedded image per page and no text
    _text_page("第一页").save(scanned_pdf, save_all=True, append_images=[_text_page("第二页")], resolution=300)
    pdf_pages = page_images(scanned_pdf, work, "p")
    assert [p.number for p in pdf_pages] == [1, 2] and all(p.image for p in pdf_pages)
    born_digital = next(demo.root.rglob("*申请书.pdf"))
    assert scan_kind(born_digital) == "pdf" and page_images(born_digital, work) == []
    junk = tmp_path / "junk.tif"
    junk.write_bytes(b"II*\0" + b"\xff" * 40)  # a TIFF header and nothing readable
    with warnings.catch_warnings(record=True) as caught:  # the note tells; nothing reaches a terminal
        warnings.simplefilter("always")
        [bad] = page_images(junk, work)
    assert bad.image is None and bad.note and caught == []
    assert scan_kind(tmp_path / "missing") is None


def test_an_image_only_pdf_page_is_read(tmp_path: Path) -> None:
    pdf = tmp_path / "scan.pdf"
    _text_page("无房证明").save(pdf, resolution=300)
    [page] = page_images(pdf, tmp_path, "s")
    assert page.image is not None
    assert SCAN_PHRASE in recognize(page.image).text


def test_a_page_tesseract_cannot_read_is_an_error_not_an_exception(tmp_path: Path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    result = recognize(broken)
    assert result.text == "" and result.error


# ----- the OCR version ---------------------------------------------------------------------------------------


def test_ocr_adds_one_signed_version_with_the_text_of_each_page(ocr_home: OcrHome) -> None:
    with Repository.open(ocr_home.home) as repo:
        store, oid = repo.store, object_id(ocr_home.archive_id)
        assert ocr_home.outcome.status == "added" and ocr_home.outcome.version == "v2"  # type: ignore[attr-defined]
        v1, v2 = store.state(oid, "v1"), store.state(oid, "v2")
        assert {p: d for p, d in v2.items() if p.startswith("data/")} == {p: d for p, d in v1.items()
                                                                          if p.startswith("data/")}
        [(source, truth)] = ocr_home.truth.items()
        record = json.loads(store.content_path(oid, ocr_record_path(source)).read_bytes())
        engine = engine_info("chi_sim")
        assert record["source"] == source and record["source_sha512"] == v1[source]
        assert record["engine"] == engine.label and [p["page"] for p in record["pages"]] == [1]
        text = store.content_path(oid, ocr_page_path(source, 1)).read_text("utf-8")
        assert SCAN_PHRASE in text and accuracy(text, truth[0]) >= 0.95
        scans = [p for p in v1 if p.startswith("data/") and p.endswith((".tif", ".jpg"))]
        assert len(scans) >= 4 and all(ocr_record_path(p) in v2 for p in scans)
        objects, events, agents = parse_premis(store.content_path(oid, premis_path("v2")).read_bytes())
        assert objects and all(o.identifier.startswith(OCR_PREFIX) for o in objects)  # only what the version added
        assert sorted(o.identifier for o in objects) == sorted(p for p in v2 if p.startswith(OCR_PREFIX))
        history, state = read_history(store, oid)
        assert {o.identifier for o in history.objects(state)} >= {o.identifier for o in objects} | set(scans)
        created = [e for e in events if e.type == "creation"]
        assert len(created) == len(scans)
        mine = next(e for e in created if (source, "source") in e.objects)
        assert mine.outcome_detail == engine.label and "tesseract 5." in mine.outcome_detail
        assert "chi_sim" in mine.outcome_detail
        assert {(ocr_page_path(source, 1), "outcome"), (ocr_record_path(source), "outcome")} <= set(mine.objects)
        assert any(a.name == "tesseract" and a.version == engine.version for a in agents)
        assert [v.message.startswith("ocr tesseract") for v in store.versions(oid)] == [False, True]


def test_a_repeated_run_adds_nothing(ocr_home: OcrHome, ih: ModuleType) -> None:
    from repository.ingest.ocr import ocr_archives

    with Repository.open(ocr_home.home) as repo:
        before = ih.tree(repo.store.root)
        [again] = ocr_archives(repo, [ocr_home.archive_id])
        assert (again.status, again.version) == ("unchanged", None)
        assert ih.tree(repo.store.root) == before and repo.store.head(object_id(ocr_home.archive_id)) == "v2"
        assert ih.staging_leftovers(ocr_home.home) == []


def test_the_store_validates_and_every_version_verifies_after_ocr(ocr_home: OcrHome, ih: ModuleType) -> None:
    from datetime import UTC, datetime

    from repository.audit.run import Selection, run_audit

    with Repository.open(ocr_home.home) as repo:
        ih.assert_store_valid(repo)
        run = run_audit(repo, Selection("all", ()), now=datetime.now(UTC))
        assert run.ok, [i.to_dict() for i in run.issues]


@pytest.mark.parametrize("engine", ["whoosh", "tantivy"])
def test_search_finds_a_phrase_only_in_a_scan_with_its_page(ocr_home: OcrHome, engine: str, tmp_path: Path) -> None:
    from repository.search.indexing import reindex_from_store
    from repository.search.opening import open_engine
    from repository.search.results import SearchRequest

    assert ocr_home.hits_before == 0  # ingest alone: the words are only pixels
    with Repository.open(ocr_home.home) as repo:
        if engine == "whoosh":  # the home's own index, updated by the OCR run itself
            index = repo.search
        else:  # the other engine, rebuilt from the store alone
            index = open_engine(engine, tmp_path / "index", rebuild=True)
            assert reindex_from_store(index, repo.store) == 1
        result = index.search(SearchRequest(query=f'"{SCAN_PHRASE}"'))
        [hit] = result.hits
        [source] = ocr_home.truth
        assert hit.archive_id == ocr_home.archive_id
        [item] = hit.items
        ref = filerefs.refs_of((i.number, i.files) for i in repo.catalog.show(ocr_home.archive_id).archive.items)[source]
        assert item["found_on"] == [{"file": source, "page": 1, "ref": ref}] and item["title"] == "无房证明"
        assert SCAN_PHRASE in hit.highlights["text"].replace("<em>", "").replace("</em>", "")
        assert hit.to_dict()["items"][0]["found_on"][0]["page"] == 1
        if engine != "whoosh":
            index.close()


def test_catalogue_rebuild_keeps_the_ocr_version_and_its_events(ocr_home: OcrHome, tmp_path: Path,
                                                                ih: ModuleType) -> None:
    from repository.catalog.rebuild import rebuild
    from repository.home import policy_of

    def kept(view: dict) -> tuple:  # what the store holds (audit rows are the catalogue's own)
        return (view["versions"], view["files"],
                [e for e in view["events"] if e["type"] in ("creation", "ingestion", "digital signature generation")])

    home = ih.copy_home(ocr_home.home, tmp_path / "home")
    with Repository.open(home) as repo:
        first = ih.normalized_view(repo.catalog.show(ocr_home.archive_id))
        rebuild(repo.catalog, repo.store, policy_of=policy_of(repo.cfg))
        again = ih.normalized_view(repo.catalog.show(ocr_home.archive_id))
    assert kept(again) == kept(first)
    assert [v["number"] for v in first["versions"]] == ["v1", "v2"]
    assert sum(e["type"] == "creation" and "tesseract" in (e["outcome_detail"] or "") for e in first["events"]) >= 4


def test_a_supplement_after_ocr_keeps_the_text(ocr_home: OcrHome, tmp_path: Path, ih: ModuleType) -> None:
    from repository.ingest.pipeline import ingest
    from repository.search.results import SearchRequest

    home = ih.copy_home(ocr_home.home, tmp_path / "home")
    with Repository.open(home) as repo:
        [outcome] = ingest(repo, [ocr_home.supplement])
        assert (outcome.status, outcome.version) == ("ingested", "v3")
        oid = object_id(ocr_home.archive_id)
        v2, v3 = repo.store.state(oid, "v2"), repo.store.state(oid, "v3")
        assert {p: d for p, d in v2.items() if p.startswith("derivatives/")} == {
            p: d for p, d in v3.items() if p.startswith("derivatives/")}
        [hit] = repo.search.search(SearchRequest(query=f'"{SCAN_PHRASE}"')).hits
        assert hit.version == "v3" and hit.items[0]["found_on"][0]["page"] == 1
        ih.assert_store_valid(repo)


def test_a_failed_commit_changes_nothing_and_the_next_run_completes(home: Path, demo, ih: ModuleType,  # noqa: ANN001
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from repository.errors import PreservationError
    from repository.ingest.ocr import ocr_archives
    from repository.ingest.pipeline import ingest
    from repository.preservation.ocfl import OcflStore

    with Repository.open(home) as repo:
        [done] = ingest(repo, [demo.sips("unit")[0]])  # a unit archive: one scan
        oid = object_id(done.archive_id)
        before = ih.tree(repo.store.root)

        def broken(*_a: object, **_k: object) -> None:
            raise PreservationError("disk full", "OCFL-IO")

        monkeypatch.setattr(OcflStore, "add_version", broken)
        with pytest.raises(PreservationError):
            ocr_archives(repo, [done.archive_id])
        assert ih.tree(repo.store.root) == before and repo.store.head(oid) == "v1"
        monkeypatch.undo()
        [again] = ocr_archives(repo, [done.archive_id])  # recovers what the failed run left, then commits
        assert (again.status, again.version) == ("added", "v2")
        assert ih.staging_leftovers(home) == []
        ih.assert_store_valid(repo)


def test_hsar_ocr_says_what_it_did(ocr_home: OcrHome) -> None:
    from click.testing import CliRunner

    from repository.cli import cli

    args = ["--home", str(ocr_home.home), "--lang", "en", "ocr", "--archive", ocr_home.archive_id]
    result = CliRunner().invoke(cli, args, prog_name="hsar")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [f"{ocr_home.archive_id}: unchanged (every scanned page has its text)",
                                          "1 archives: text added to 0, 1 unchanged"]
