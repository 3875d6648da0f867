"""PDF text extraction: born-digital Chinese text found, bounds kept, broken input never raises."""

from __future__ import annotations

from repository.search.extract import extract_pdf_text


def test_chinese_text_of_a_born_digital_pdf(pdf_texts):
    assert pdf_texts["hh1-application"] == "本人王秀英申请公共租赁住房，家庭月收入二千三百元，现住房困难。"
    assert pdf_texts["un1-rent"].endswith("第二页：租金按月收缴。")


def test_bounds(tmp_path, demo):
    pdf = demo.make_pdf(tmp_path / "three.pdf", ["第一页", "第二页", "第三页"])
    assert extract_pdf_text(pdf, max_pages=1) == "第一页"
    assert extract_pdf_text(pdf, max_chars=2) == "第一"
    assert extract_pdf_text(pdf, max_bytes=100) == ""
    assert extract_pdf_text(pdf, timeout_seconds=1e-9) in ("", "第一页")


def test_broken_scanned_and_missing_files_give_no_text(tmp_path, demo):
    good = demo.make_pdf(tmp_path / "good.pdf", ["完整的文本"]).read_bytes()
    cases = {"truncated.pdf": good[: len(good) // 2], "garbage.pdf": b"%PDF-1.7\n\x00\xff garbage",
             "scan.tif": b"II*\x00" + bytes(64), "empty.pdf": b""}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        assert extract_pdf_text(tmp_path / name) == "", name
    assert extract_pdf_text(tmp_path / "missing.pdf") == ""
    assert extract_pdf_text(tmp_path) == ""


def test_time_limit_keeps_the_pages_read_in_time(tmp_path, demo, monkeypatch):
    import time

    import pypdf

    pdf = demo.make_pdf(tmp_path / "slow.pdf", ["第一页", "第二页", "第三页", "第四页"])
    real = pypdf.PageObject.extract_text

    def slow(self, *args, **kwargs):
        time.sleep(0.4)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pypdf.PageObject, "extract_text", slow)
    start = time.monotonic()
    text = extract_pdf_text(pdf, timeout_seconds=0.6)
    assert time.monotonic() - start < 1.0
    assert text == "第一页"
