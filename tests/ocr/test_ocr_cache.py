"""OCR runs and the text cache: the born-digital PDFs of an archive are not parsed again when its OCR version is
indexed (ingest left their texts in ``cache/texts/``), nor again by a repeated run (the scan verdict is kept),
and what is indexed is what storage alone gives; a lost cache is filled again by ``hsar reindex``."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import ModuleType

import pytest

from repository.home import Repository
from repository.preservation.ids import object_id


def _pdfs(repo: Repository, archive_id: str) -> list[str]:
    state = repo.store.state(object_id(archive_id))
    return [p for p in state if p.startswith("data/") and p.endswith(".pdf")]


def test_an_ocr_run_parses_no_pdf_ingest_read_and_a_repeated_run_none(home: Path, demo, ih: ModuleType,  # noqa: ANN001
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from repository.formats import scanpages
    from repository.ingest.ocr import ocr_archives
    from repository.ingest.pipeline import ingest
    from repository.search import extract
    from repository.search.indexing import stored_document

    with Repository.open(home) as repo:
        [done] = ingest(repo, [demo.sips("unit")[0]])
        archive_id, oid = done.archive_id, object_id(done.archive_id)
        pdfs = _pdfs(repo, archive_id)
        assert pdfs and any(repo.paths.text_cache.rglob("*.json"))  # ingest kept its PDFs' texts
        texts, parsed = [], []
        real_pages, real_pdf_pages = extract._pages, scanpages._pdf_pages
        monkeypatch.setattr(extract, "_pages", lambda *a, **k: texts.append(a) or real_pages(*a, **k))
        monkeypatch.setattr(scanpages, "_pdf_pages", lambda *a, **k: parsed.append(a) or real_pdf_pages(*a, **k))
        [first] = ocr_archives(repo, [archive_id])
        assert (first.status, first.version) == ("added", "v2")
        assert texts == []  # the OCR version's document took the PDFs' texts from the cache
        assert len(parsed) == len(pdfs)  # each PDF looked at once: born digital, not a scan
        cached = stored_document(repo.store, oid, cache=repo.text_cache)
        assert texts == []
        fresh = stored_document(repo.store, oid)  # storage alone: extracted again, the same document
        assert len(texts) == len(pdfs) and fresh == cached
        parsed.clear()
        [again] = ocr_archives(repo, [archive_id])
        assert again.status == "unchanged" and parsed == []  # verdicts kept: no PDF parsed again
        ih.assert_store_valid(repo)


def test_a_lost_cache_is_filled_again_by_reindex(home: Path, demo) -> None:  # noqa: ANN001
    from repository.ingest.pipeline import ingest
    from repository.search.indexing import stored_document
    from repository.services.search import reindex

    with Repository.open(home) as repo:
        [done] = ingest(repo, [demo.sips("unit")[0]])
        oid = object_id(done.archive_id)
        before = stored_document(repo.store, oid)
        entries = sorted(p.relative_to(repo.paths.text_cache) for p in repo.paths.text_cache.rglob("*.json"))
        assert entries
        inventory = repo.store.inventory(oid)
        tiffs = {d for d, ps in inventory["versions"][inventory["head"]]["state"].items()
                 if any(p.lower().endswith((".tif", ".tiff")) for p in ps)}
        counted = {e for e in entries if e.parts[0] == "pages" and e.stem in tiffs}
        assert tiffs and len(counted) == len(tiffs)  # ingest keeps the TIFFs' page counts as it receives them
        shutil.rmtree(repo.paths.text_cache.parent)
        reindex(repo)
        again = sorted(p.relative_to(repo.paths.text_cache) for p in repo.paths.text_cache.rglob("*.json"))
        # all but those: reindex reads no TIFF (the next reconciliation counts them again, hashing each first)
        assert again == sorted(set(entries) - counted)
        assert stored_document(repo.store, oid, cache=repo.text_cache) == before
