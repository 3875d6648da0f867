"""The text cache (``cache/texts/``): a PDF's text is extracted once per distinct bytes, a changed file never
gets an old text, a damaged or lost cache is a miss (and is written again), texts cut short are not kept."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from repository.formats.pages import counter as page_counter
from repository.formats.pages import page_count
from repository.search import extract, indexing
from repository.search.indexing import pdf_text, pdf_texts, text_extractor
from repository.search.textcache import PAGES, PDF_TEXT, TextCache

from .conftest import make_pdf


class Counter:
    """Counts real extractions (pypdf parses) while still doing them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        real = extract._pages

        def counted(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            self.calls += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(extract, "_pages", counted)


def entries(cache: TextCache) -> list[Path]:
    return sorted(p for p in (cache.root / PDF_TEXT).rglob("*.json"))  # the texts (a .pdf also gets its pages)


def test_a_text_is_extracted_once_per_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = TextCache(tmp_path / "cache" / "texts")
    pdf = make_pdf(tmp_path / "a.pdf", ["申请公共租赁住房"])
    copy = tmp_path / "elsewhere.pdf"
    copy.write_bytes(pdf.read_bytes())
    counter = Counter(monkeypatch)
    assert pdf_text(pdf, cache) == "申请公共租赁住房" and counter.calls == 1
    assert pdf_text(pdf, cache) == "申请公共租赁住房" and counter.calls == 1  # from the cache
    assert pdf_texts({"data/b.pdf": copy}, cache) == {"data/b.pdf": "申请公共租赁住房"}  # same bytes, other name
    assert counter.calls == 1 and len(entries(cache)) == 1
    assert pdf_text(pdf, None) == "申请公共租赁住房" and counter.calls == 2  # no cache: extracted as before


def test_a_changed_file_never_gets_the_old_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = TextCache(tmp_path / "texts")
    pdf = make_pdf(tmp_path / "a.pdf", ["旧的文本"])
    assert pdf_text(pdf, cache) == "旧的文本"
    make_pdf(pdf, ["新的文本"])  # the same path, other bytes
    counter = Counter(monkeypatch)
    assert pdf_text(pdf, cache) == "新的文本" and counter.calls == 1
    assert len(entries(cache)) == 2  # one entry per distinct bytes


@pytest.mark.parametrize("damage", ["text", "truncated", "garbage", "digest", "deleted"])
def test_a_damaged_or_lost_cache_is_a_miss_and_is_written_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                damage: str) -> None:
    cache = TextCache(tmp_path / "cache" / "texts")
    pdf = make_pdf(tmp_path / "a.pdf", ["家庭月收入二千三百元"])
    assert pdf_text(pdf, cache) == "家庭月收入二千三百元"
    [entry] = entries(cache)
    good = entry.read_bytes()
    body = json.loads(good)
    if damage == "text":  # valid JSON, another text: the checksum no longer fits
        entry.write_bytes(good.replace("二千三百".encode(), "九千九百".encode()))
    elif damage == "truncated":
        entry.write_bytes(good[: len(good) // 2])
    elif damage == "garbage":
        entry.write_bytes(os.urandom(64))
    elif damage == "digest":  # an entry of other bytes filed under this file's name
        entry.write_text(json.dumps({**body, "sha512": "0" * 128}), "utf-8")
    else:
        import shutil

        shutil.rmtree(tmp_path / "cache")
    counter = Counter(monkeypatch)
    assert pdf_text(pdf, cache) == "家庭月收入二千三百元" and counter.calls == 1
    assert entry.read_bytes() == good  # written again, whole
    assert pdf_text(pdf, cache) == "家庭月收入二千三百元" and counter.calls == 1


def test_another_extractor_misses_the_old_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = TextCache(tmp_path / "texts")
    pdf = make_pdf(tmp_path / "a.pdf", ["轮候记录"])
    pdf_text(pdf, cache)
    before = text_extractor()
    monkeypatch.setattr(extract, "RULES", extract.RULES + 1)
    assert text_extractor() != before
    counter = Counter(monkeypatch)
    assert pdf_text(pdf, cache) == "轮候记录" and counter.calls == 1


def test_a_text_cut_short_by_time_or_an_unreadable_file_is_not_kept(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    import pypdf

    cache = TextCache(tmp_path / "texts")
    pdf = make_pdf(tmp_path / "slow.pdf", ["第一页", "第二页", "第三页"])
    real = pypdf.PageObject.extract_text

    def slow(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        time.sleep(0.3)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pypdf.PageObject, "extract_text", slow)
    monkeypatch.setattr(indexing, "PDF_SECONDS", 0.45)
    assert pdf_text(pdf, cache) == "第一页"
    assert entries(cache) == []
    monkeypatch.undo()
    assert pdf_text(pdf, cache) == "第一页\n第二页\n第三页"  # the whole text, next time
    assert pdf_text(tmp_path / "missing.pdf", cache) == "" and len(entries(cache)) == 1
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(pdf.read_bytes()[:200])
    assert pdf_text(broken, cache) == "" and len(entries(cache)) == 1  # pypdf failed: may do better later


def test_entries_are_owner_only_and_forgotten_on_disposal(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        cache = TextCache(tmp_path / "cache" / "texts")
        pdf = make_pdf(tmp_path / "a.pdf", ["诚信申报"])
        pdf_text(pdf, cache)
    finally:
        os.umask(old)
    [entry] = entries(cache)
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    for folder in (tmp_path / "cache", cache.root, entry.parent.parent, entry.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    digest = entry.name.removesuffix(".json")
    assert cache.get(PDF_TEXT, digest, text_extractor()) == "诚信申报"
    assert cache.get(PAGES, digest, page_counter()) == 1  # the page count kept beside the text
    assert cache.forget([digest.upper(), "not-a-digest"]) == 2 and entries(cache) == []
    assert cache.get(PAGES, digest, page_counter()) is None


def test_a_pdf_parsed_for_its_text_keeps_its_page_count(tmp_path: Path) -> None:
    """What the dual-track reconciliation would count (formats.pages.page_count) is kept when indexing parses
    a PDF, under the SHA-512 of those bytes: only for a file it counts as a PDF, and only when the pages can be
    read (an encrypted file with an empty user password can; one locked by a password cannot)."""
    import hashlib

    from pypdf import PdfReader, PdfWriter

    cache = TextCache(tmp_path / "texts")
    pdf = make_pdf(tmp_path / "a.PDF", ["第一页", "第二页", "第三页"])
    text = pdf_text(pdf, cache)
    digest = hashlib.sha512(pdf.read_bytes()).hexdigest()
    assert text and cache.get(PAGES, digest, page_counter()) == page_count(pdf) == 3

    other = tmp_path / "b.dat"  # a PDF by its header, but page_count knows no .dat: nothing kept
    other.write_bytes(make_pdf(tmp_path / "b.pdf", ["一", "二"]).read_bytes())
    pdf_text(other, cache)
    assert cache.get(PAGES, hashlib.sha512(other.read_bytes()).hexdigest(), page_counter()) is None

    for password, pages in (("", 3), ("secret", None)):
        writer = PdfWriter(clone_from=PdfReader(pdf))
        writer.encrypt(user_password=password, owner_password="owner")
        locked = tmp_path / f"locked-{password}.pdf"
        with open(locked, "wb") as fh:
            writer.write(fh)
        assert pdf_text(locked, cache) == (text if pages else "")
        assert cache.get(PAGES, hashlib.sha512(locked.read_bytes()).hexdigest(), page_counter()) == pages
        assert page_count(locked) == pages


def test_the_same_texts_with_and_without_the_cache(tmp_path: Path) -> None:
    pdfs = {f"data/{n}.pdf": make_pdf(tmp_path / f"{n}.pdf", [f"第{n}份文件", "共两页"]) for n in range(3)}
    cache = TextCache(tmp_path / "cache")
    plain = pdf_texts(pdfs)
    assert pdf_texts(pdfs, cache) == plain and len(entries(cache)) == 3
    assert pdf_texts(pdfs, cache) == plain
