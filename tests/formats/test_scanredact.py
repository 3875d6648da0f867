"""Which words of a scan's page a proposal paints over (repository/formats/scanredact.py), from word boxes as
tesseract gives them: no OCR is run here (tests/web/test_scan_reviews.py runs it on a real scan)."""

from __future__ import annotations

from PIL import Image

from repository.formats.scanredact import Word, padded, paint, words_to_hide
from repository.privacy import mask_with_people

PEOPLE = [{"head_name": "张建国", "members": []}]


def _mask(text: str) -> str:
    return str(mask_with_people(PEOPLE, text))


def _line(*texts: str, line: int = 1) -> list[Word]:
    return [Word(t, (100 * k, 10 * line, 100 * k + 90, 10 * line + 8), (1, 1, line)) for k, t in enumerate(texts)]


def _hidden(words: list[Word]) -> list[str]:
    return [words[k].text for k in sorted(words_to_hide(words, _mask))]


def test_a_resident_id_cut_into_words_is_painted_whole_and_the_text_beside_it_is_not() -> None:
    words = _line("兹", "证明", "申请人", "张建国", "（身份证号3", "20102", "19900101", "1234）")
    assert _hidden(words) == ["张建国", "（身份证号3", "20102", "19900101", "1234）"]


def test_numbers_of_six_digits_and_id_like_tokens_are_painted_short_ones_are_not() -> None:
    words = _line("编号", "2024", "房号", "12-3", "电话", "138", "1234", "5678") + _line("代码", "AB12CD34", line=2) \
        + _line("共", "3", "页", line=3)
    assert _hidden(words) == ["138", "1234", "5678", "AB12CD34"]
    assert _hidden(_line("收据", "№123456")) == ["№123456"]


def test_a_box_is_padded_within_the_page_and_painted_black() -> None:
    assert padded((10, 10, 50, 30), (55, 100)) == (0, 6, 55, 34)
    image = paint(Image.new("L", (60, 40), 255), [(5, 5, 20, 15)])
    assert image.getpixel((5, 5)) == 0 and image.getpixel((19, 14)) == 0 and image.getpixel((20, 15)) == 255


def test_a_failures_reason_names_no_server_path() -> None:
    from repository.formats.scanredact import scrubbed

    reason = "UnidentifiedImageError: cannot identify image file '/srv/hsar/store/ab/cd/v1/content/data/x.tif'"
    assert scrubbed(reason) == "UnidentifiedImageError: cannot identify image file 'x.tif'"
    assert scrubbed("OSError: [Errno 28] No space left: /tmp/hsar-scan-k2/page.p0003.tif") == \
        "OSError: [Errno 28] No space left: page.p0003.tif"
    assert scrubbed("ValueError: page 3 cannot be read") == "ValueError: page 3 cannot be read"
