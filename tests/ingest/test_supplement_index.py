"""A supplement's search document is the one ``hsar reindex`` makes, though it opens only the files it must.

The index reads text from the payload files that are PDFs by their header (``formats.pdfsig.is_pdf``). A
supplement takes that verdict for the files it carries from what the earlier ingest kept by digest
(:mod:`repository.search.pdfheaders`) instead of opening each of them. These tests pin that the document is
still exactly the one made from storage alone, with the text of the earlier versions' PDFs, also for a file
recorded as another format that is a PDF by its header (a PDF after two newlines: FIDO calls it plain text,
and reindex reads its text), and when the kept verdicts are missing or damaged.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from repository.catalog import tables as t
from repository.descriptive import parse
from repository.divisions import tree_for
from repository.ingest import pipeline
from repository.ingest.pipeline import ingest
from repository.ingest.texts import KnownTexts
from repository.preservation.ids import object_id
from repository.search import indexing, pdfheaders
from repository.search.indexing import stored_document
from repository.search.pdfheaders import PdfHeaders
from repository.sip.build import write_sip

HIDDEN = "hidden lease clause 4711"


def pdf_bytes(prefix: bytes, text: str) -> bytes:
    """A one-page PDF showing ``text``, after ``prefix`` (its offsets counted from the file's start)."""
    out = bytearray(prefix)
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out += b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def with_extra_files(original: Path, extra: dict[str, bytes], out: Path) -> Path:
    """The SIP ``original`` with ``extra`` (file name -> bytes) added to its first item."""
    archive = parse((original / "metadata/descriptive.xml").read_bytes())
    payload: dict[str, Path | bytes] = {p.relative_to(original).as_posix(): p
                                        for p in (original / "data").rglob("*") if p.is_file()}
    first = archive.items[0]
    folder = first.files[0].rsplit("/", 1)[0]
    added = {f"{folder}/{name}": data for name, data in extra.items()}
    payload.update(added)
    items = (dataclasses.replace(first, files=first.files + tuple(added)), *archive.items[1:])
    return write_sip(dataclasses.replace(archive, items=items), payload, out,
                     source_organization=archive.institution, bagging_date=date(2025, 1, 2))


@pytest.fixture
def kept_for_all(monkeypatch: pytest.MonkeyPatch) -> None:
    """Verdicts kept for archives of any size (the demo's are small), every supplement in a 'new process'."""
    monkeypatch.setattr(pdfheaders, "KEPT_FROM", 1)
    monkeypatch.setattr(pipeline, "_KNOWN_TEXTS", KnownTexts())


def _watch(monkeypatch: pytest.MonkeyPatch, repo) -> tuple[list[str], list]:  # noqa: ANN001
    """The files the index step opens to look at their header, and the documents it writes."""
    opened: list[str] = []
    real = indexing.is_pdf

    def spy(path: Path | str) -> bool:
        opened.append(str(path))
        return real(path)

    monkeypatch.setattr(indexing, "is_pdf", spy)
    documents: list = []
    replace = repo.search.replace
    monkeypatch.setattr(repo.search, "replace", lambda doc: (documents.append(doc), replace(doc))[1])
    return opened, documents


def _fresh_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "_KNOWN_TEXTS", KnownTexts())


def _reindexed(repo, archive_id: str):  # noqa: ANN001, ANN202
    """The document ``hsar reindex`` makes, from storage alone (no text cache)."""
    return stored_document(repo.store, object_id(archive_id), tree_for(repo.cfg))


def test_a_supplement_opens_no_carried_file_and_indexes_what_reindex_does(demo, repo, tmp_path, monkeypatch,
                                                                          kept_for_all):
    original, supplement = demo.first_with_supplement()
    sip = with_extra_files(original, {"0001-note.txt": pdf_bytes(b"\n\n", HIDDEN)}, tmp_path / "sip")
    [first] = ingest(repo, [sip])
    assert first.status == "ingested"
    oid = object_id(first.archive_id)
    kept = PdfHeaders.load(repo.text_cache, oid).verdicts
    state = repo.store.state(oid)
    payload = {p: d for p, d in state.items() if p.startswith("data/")}
    assert len(kept) == len(set(payload.values())) and any(kept.values()) and not all(kept.values())

    _fresh_process(monkeypatch)
    opened, documents = _watch(monkeypatch, repo)
    [second] = ingest(repo, [supplement])
    assert second.status == "ingested"
    store_root = str(repo.store.root)
    assert opened and not [p for p in opened if p.startswith(store_root)]  # only the SIP's own files
    [document] = documents
    assert document == _reindexed(repo, first.archive_id)
    assert "4711" in " ".join(document.text.values())  # the earlier version's PDF text is there


def test_a_pdf_recorded_as_plain_text_is_indexed_as_reindex_indexes_it(demo, repo, tmp_path, monkeypatch,
                                                                       kept_for_all):
    """The case the format recorded at ingest cannot decide: FIDO says plain text, the header says PDF."""
    original, supplement = demo.first_with_supplement()
    name = "0001-note.txt"
    sip = with_extra_files(original, {name: pdf_bytes(b"\n\n", HIDDEN)}, tmp_path / "sip")
    [first] = ingest(repo, [sip])
    with repo.catalog.transaction() as conn:
        recorded = conn.execute(select(t.files.c.puid, t.files.c.format_name)
                                .where(t.files.c.path.endswith(name))).first()
    assert recorded is not None and recorded.puid == "x-fmt/111"  # not a PDF by its recorded format
    _fresh_process(monkeypatch)
    opened, documents = _watch(monkeypatch, repo)
    ingest(repo, [supplement])
    [document] = documents
    reindexed = _reindexed(repo, first.archive_id)
    assert document == reindexed
    assert "4711" in " ".join(reindexed.text.values())  # reindex reads its text, and so does the supplement


@pytest.mark.parametrize("damage", ["missing", "damaged", "other rule", "wrong verdicts"])
def test_without_sound_kept_verdicts_the_files_are_opened_and_the_document_is_the_same(
        demo, repo, tmp_path, monkeypatch, kept_for_all, damage):
    original, supplement = demo.first_with_supplement()
    sip = with_extra_files(original, {"0001-note.txt": pdf_bytes(b"\n\n", HIDDEN)}, tmp_path / "sip")
    [first] = ingest(repo, [sip])
    oid = object_id(first.archive_id)
    [entry] = (repo.paths.text_cache / "pdf-headers").rglob("*.json")
    if damage == "missing":
        entry.unlink()
    elif damage == "damaged":
        entry.write_bytes(entry.read_bytes().replace(b'"pdf": "', b'"pdf": "0', 1))
    elif damage == "other rule":
        monkeypatch.setattr(pdfheaders, "RULE", "is_pdf %PDF- in first 2048 bytes")
    else:  # a sound entry whose verdicts were made on other bytes: its digests match none of these files
        entry.unlink()
        PdfHeaders(oid, {"0" * 32: True, "1" * 32: False}).keep(repo.text_cache, ["0" * 128] * 300)
    assert PdfHeaders.load(repo.text_cache, oid).judged(repo.store.state(oid)) == {}
    _fresh_process(monkeypatch)
    opened, documents = _watch(monkeypatch, repo)
    ingest(repo, [supplement])
    store_root = str(repo.store.root)
    carried = [p for p in opened if p.startswith(store_root)]
    assert len(carried) == len([p for p in repo.store.state(oid, "v1") if p.startswith("data/")])
    [document] = documents
    assert document == _reindexed(repo, first.archive_id)
    assert PdfHeaders.load(repo.text_cache, oid).judged(repo.store.state(oid, "v1"))  # kept again


def test_verdicts_are_kept_only_for_large_archives_and_rewritten_only_when_many_are_missing(tmp_path):
    from repository.search.textcache import TextCache

    cache = TextCache(tmp_path / "texts")
    digests = [f"{n:032x}" + "a" * 96 for n in range(1, 1001)]
    small = PdfHeaders("urn:small")
    for d in digests[:pdfheaders.KEPT_FROM - 1]:
        small.learn(d, False)
    assert not small.keep(cache, digests[:pdfheaders.KEPT_FROM - 1])
    assert PdfHeaders.load(cache, "urn:small").verdicts == {}

    large = PdfHeaders("urn:large")
    for n, d in enumerate(digests):
        large.learn(d, n % 7 == 0)
    assert large.keep(cache, digests)
    loaded = PdfHeaders.load(cache, "urn:large")
    assert loaded.judged({str(n): d for n, d in enumerate(digests)}) == {str(n): n % 7 == 0 for n in range(1000)}
    grown = [*digests, *(f"{n:032x}" + "b" * 96 for n in range(5000, 5000 + pdfheaders.stale_after(1016)))]
    for d in grown[1000:]:
        loaded.learn(d, True)
    assert not loaded.keep(cache, grown)  # a few new files: opened next time, the entry is not rewritten
    more = [*grown, f"{9999:032x}" + "c" * 96]
    loaded.learn(more[-1], True)
    assert loaded.keep(cache, more)
    assert len(PdfHeaders.load(cache, "urn:large").verdicts) == len(more)
    fewer = more[:500]  # verdicts on bytes the archive no longer holds are dropped
    assert PdfHeaders.load(cache, "urn:large").keep(cache, fewer)
    assert set(PdfHeaders.load(cache, "urn:large").verdicts) == {d[:32] for d in fewer}
