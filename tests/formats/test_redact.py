"""Researchers' copies of PDFs (repository/formats/redact.py): real PDFs drawn with reportlab, redacted, and the
copies read back: their pixels where the personal data stood, their text layer, their pages."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageStat
from pypdf import PdfReader, PdfWriter
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from repository.formats import imagepdf, redact, research_copies
from repository.formats.pagetext import hidden_positions, to_hide
from repository.formats.redact import RedactError, redact_pdf
from repository.formats.research_copies import ResearchCopies, redact_in_child
from repository.privacy import mask_with_people

RID = "110101199001011234"
PEOPLE = [{"head": {"name": "Zhang Sanfeng", "resident_id": RID}}]  # (names in Latin letters: Helvetica draws them)


def _mask(text: str) -> str:
    return str(mask_with_people([], text))


def _pdf(path: Path, draw) -> Path:  # noqa: ANN001 - a function of a reportlab canvas
    c = canvas.Canvas(str(path), pagesize=(595, 842))
    draw(c)
    c.save()
    return path


def _id_page(c: canvas.Canvas) -> None:
    c.setFont("Helvetica", 14)
    c.drawString(72, 700, f"ID {RID} end")
    c.drawString(72, 650, "Phone 13812345678")
    c.drawString(72, 600, "Nothing personal here")


def _boxes(path: Path, needle: str, page: int = 0) -> list[tuple[float, float, float, float]]:
    """The boxes of the characters of ``needle`` on ``page`` of ``path`` (its first occurrence)."""
    pdf = pdfium.PdfDocument(str(path))
    try:
        text = pdf[page].get_textpage()
        whole = text.get_text_range()
        start = whole.index(needle)
        return [text.get_charbox(i) for i in range(start, start + len(needle))]
    finally:
        pdf.close()


def _render(data: bytes, page: int = 0, scale: float = 2.0) -> Image.Image:
    pdf = pdfium.PdfDocument(data)
    try:
        return pdf[page].render(scale=scale).to_pil().convert("L")
    finally:
        pdf.close()


def _mean(image: Image.Image, box: tuple[float, float, float, float], scale: float = 2.0) -> float:
    """The mean grey of ``box`` (PDF points, a 842-point-high page) in ``image`` rendered at ``scale``."""
    left, bottom, right, top = box
    crop = image.crop((int(left * scale) + 1, int((842 - top) * scale) + 1,
                       int(right * scale) - 1, int((842 - bottom) * scale) - 1))
    return float(ImageStat.Stat(crop).mean[0])


def _one_more(text: str) -> str:
    """A mask that hides the first character not hidden yet: it never leaves a text alone."""
    return next((text[:i] + "#" + text[i + 1:] for i, c in enumerate(text) if c not in "*#"), text)


def _redacted(source: Path, mask=_mask) -> tuple[bytes, redact.Redacted]:  # noqa: ANN001
    out = io.BytesIO()
    done = redact_pdf(source, out, mask)
    return out.getvalue(), done


def test_identity_numbers_and_phones_are_painted_over_and_the_rest_stays(tmp_path: Path) -> None:
    source = _pdf(tmp_path / "id.pdf", _id_page)
    data, done = _redacted(source)
    assert done.pages == 1 and done.covered_pages == 0 and done.pictures == 0
    assert done.masked == 8 + 4  # the ID's middle eight digits, the phone's middle four
    image = _render(data)
    boxes = _boxes(source, RID)
    hidden, shown = boxes[6:14], boxes[:6] + boxes[14:]
    assert all(_mean(image, b) < 30 for b in hidden), "a hidden digit is not painted over"
    assert all(_mean(image, b) > 100 for b in shown), "a digit the mask keeps was painted over"
    phone = _boxes(source, "13812345678")
    assert all(_mean(image, b) < 30 for b in phone[3:7]) and all(_mean(image, b) > 100 for b in phone[:3])
    word = _boxes(source, "personal")
    assert _mean(image, (word[0][0], word[0][1], word[-1][2], word[-1][3])) > 100
    # the copy carries no text at all: only page images
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1 and reader.pages[0].extract_text() == ""
    assert RID.encode() not in data and b"Nothing" not in data


def test_the_original_would_fail_the_same_checks(tmp_path: Path) -> None:
    """The checks above can fail: the stored PDF rendered the same way shows every digit."""
    source = _pdf(tmp_path / "id.pdf", _id_page)
    image = _render(source.read_bytes())
    assert all(_mean(image, b) > 100 for b in _boxes(source, RID)[6:14])  # ink on white, not painted


def test_a_number_drawn_out_of_order_is_found_where_it_stands(tmp_path: Path) -> None:
    """The ID's digits drawn one at a time in a shuffled order, each followed by a word on other lines: in
    content order the page reads "1 ab 0 ab 1 …", no number at all; read as it stands on the page, it is one."""
    order = [5, 12, 0, 17, 8, 3, 14, 1, 10, 6, 16, 2, 9, 13, 4, 11, 7, 15]

    def draw(c: canvas.Canvas) -> None:
        c.setFont("Courier", 14)
        width = c.stringWidth("0", "Courier", 14)
        for n, k in enumerate(order):
            c.drawString(72 + k * width, 700, RID[k])
            c.drawString(72 + n * 20, 500 - (n % 3) * 40, "ab")
    source = _pdf(tmp_path / "scrambled.pdf", draw)
    pdf = pdfium.PdfDocument(str(source))
    content = pdf[0].get_textpage().get_text_range()
    pdf.close()
    assert not any(c.isdigit() and content[i + 1:i + 2].isdigit() for i, c in enumerate(content))
    assert _mask(content) == content  # the content order alone would hide nothing
    data, done = _redacted(source)
    assert done.masked == 8
    image = _render(data)
    width = 14 * 0.6  # Courier: every digit 0.6 em wide
    for k in range(18):
        mean = _mean(image, (72 + k * width + 1, 700, 72 + (k + 1) * width - 1, 709))
        assert mean < 30 if 6 <= k < 14 else mean > 100, (k, mean)


def test_the_names_of_the_archives_people_are_masked_wherever_they_stand(tmp_path: Path) -> None:
    def draw(c: canvas.Canvas) -> None:
        c.setFont("Helvetica", 14)
        c.drawString(72, 700, "Signed by Zhang Sanfeng today")
    source = _pdf(tmp_path / "name.pdf", draw)
    data, done = _redacted(source, lambda text: str(mask_with_people(PEOPLE, text)))
    assert done.masked > 0
    image = _render(data)
    name = _boxes(source, "Zhang Sanfeng")
    assert _mean(image, name[0]) > 100  # the surname is kept (Z…), as the records show it
    assert all(_mean(image, b) < 30 for b in name[1:] if b[3] - b[1] > 3)  # (the space: a flat box)
    _plain, untouched = _redacted(source)  # without the archive's people nobody can know it is a name
    assert untouched.masked == 0


def test_pictures_are_covered_whole(tmp_path: Path) -> None:
    photo = Image.new("RGB", (200, 100), (10, 10, 10))

    def draw(c: canvas.Canvas) -> None:
        c.drawImage(ImageReader(photo), 100, 500, width=200, height=100)
        c.setFont("Helvetica", 14)
        c.drawString(72, 700, "A photo below")
    source = _pdf(tmp_path / "photo.pdf", draw)
    data, done = _redacted(source)
    assert done.pictures == 1
    image = _render(data)
    assert abs(_mean(image, (102, 502, 298, 598)) - 200) < 8  # the dark photo is now light grey
    assert _mean(_render(source.read_bytes()), (102, 502, 298, 598)) < 30  # (it was dark)


def test_a_page_whose_text_the_mask_cannot_settle_is_covered_whole(tmp_path: Path) -> None:
    source = _pdf(tmp_path / "id.pdf", _id_page)
    data, done = _redacted(source, _one_more)  # never settles: every round hides one more character
    assert done.covered_pages == 1
    image = _render(data)
    assert abs(_mean(image, (10, 10, 585, 832)) - 200) < 5


def test_to_hide_reaches_a_text_the_mask_leaves_alone() -> None:
    text = f"申请人：王小明 身份证号 {RID}"
    hidden = to_hide(text, _mask)
    assert hidden is not None
    visible = "".join("*" if i in hidden else c for i, c in enumerate(text))
    assert _mask(visible) == visible and "小明" not in visible and "19900101" not in visible
    assert hidden_positions("no personal data", _mask) == set()
    assert to_hide("abcdef", _one_more) is None


def test_annotations_and_the_text_layer_do_not_reach_the_copy(tmp_path: Path) -> None:
    from pypdf.annotations import FreeText

    source = _pdf(tmp_path / "plain.pdf", lambda c: c.drawString(72, 700, "Plain page"))
    writer = PdfWriter(clone_from=str(source))
    writer.add_annotation(0, FreeText(text=f"note {RID}", rect=(50, 400, 400, 450)))
    writer.add_metadata({"/Author": f"Zhang Sanfeng {RID}"})
    annotated = tmp_path / "annotated.pdf"
    with annotated.open("wb") as handle:
        writer.write(handle)
    data, _done = _redacted(annotated)
    assert RID.encode() not in data and b"Zhang" not in data
    assert PdfReader(io.BytesIO(data)).metadata in (None, {})


@pytest.mark.parametrize("kind", ["broken", "encrypted"])
def test_a_pdf_that_cannot_be_read_is_refused_in_the_child(tmp_path: Path, kind: str) -> None:
    source = _pdf(tmp_path / "id.pdf", _id_page)
    if kind == "broken":
        source.write_bytes(b"%PDF-1.4\n" + b"\x00garbage" * 100)
    else:
        writer = PdfWriter(clone_from=str(source))
        writer.encrypt("secret", algorithm="AES-256")
        with source.open("wb") as handle:
            writer.write(handle)
    out = tmp_path / "copy.pdf"
    with pytest.raises(RedactError) as caught:
        redact_in_child(source, out, [])
    assert caught.value.code == "REDACT" and caught.value.msgid == "redact.unreadable"
    assert not out.exists()


def test_the_child_makes_the_same_copy(tmp_path: Path) -> None:
    source = _pdf(tmp_path / "id.pdf", _id_page)
    out = tmp_path / "copy.pdf"
    done = redact_in_child(source, out, PEOPLE)
    assert done.masked == 12 and out.read_bytes() == _redacted(source, lambda t: str(mask_with_people(PEOPLE, t)))[0]


def test_kept_copies_are_made_once_and_forgotten_with_their_file(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    source = _pdf(tmp_path / "id.pdf", _id_page)
    digest = "ab" * 64
    copies = ResearchCopies(tmp_path / "cache")
    made = copies.copy_of(source, digest, PEOPLE)
    assert made.name.startswith(digest) and made.suffix == ".pdf"

    def refuse(*_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("made again")
    monkeypatch.setattr(research_copies, "redact_in_child", refuse)
    assert copies.copy_of(source, digest, PEOPLE) == made
    with pytest.raises(AssertionError):  # other people: another copy (their names are masked too)
        copies.copy_of(source, digest, [])
    monkeypatch.undo()
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"not a pdf")
    with pytest.raises(RedactError):
        copies.copy_of(broken, "cd" * 64, [])
    kept = list((tmp_path / "cache").glob("cd*.err"))
    assert len(kept) == 1 and json.loads(kept[0].read_text())["msgid"] == "redact.unreadable"
    monkeypatch.setattr(research_copies, "redact_in_child", refuse)
    with pytest.raises(RedactError):  # the error is remembered: not tried again
        copies.copy_of(broken, "cd" * 64, [])
    assert copies.forget(["AB" * 64, "cd" * 64]) == 2
    assert list((tmp_path / "cache").iterdir()) == []
    with pytest.raises(ValueError, match="SHA-512"):
        copies.copy_of(source, "../../etc/passwd", [])


def test_image_pdfs_are_written_page_by_page(tmp_path: Path) -> None:
    pages = []
    for colour, size in (((255, 0, 0), (300, 200)), ((0, 0, 255), (200, 300))):
        out = io.BytesIO()
        Image.new("RGB", size, colour).save(out, "JPEG")
        pages.append((out.getvalue(), (size[0] * 0.5, size[1] * 0.5)))
    out = io.BytesIO()
    assert imagepdf.write_image_pdf(out, iter(pages)) == 2
    reader = PdfReader(io.BytesIO(out.getvalue()))
    assert [tuple(map(float, p.mediabox[2:])) for p in reader.pages] == [(150.0, 100.0), (100.0, 150.0)]
    image = _render(out.getvalue(), 1, 1.0).convert("L")
    assert image.size == (100, 150)


def _stddev(image: Image.Image, box: tuple[float, float, float, float], scale: float = 2.0) -> float:
    left, bottom, right, top = box
    crop = image.crop((int(left * scale), int((842 - top) * scale), int(right * scale), int((842 - bottom) * scale)))
    return float(ImageStat.Stat(crop).stddev[0])


def _raw_pdf(path: Path, content: bytes) -> Path:
    """A one-page PDF (595 x 842 pt, Helvetica as F1) whose content stream is ``content``, as written."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Count 1 /Kids [3 0 R] >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 "
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"]
    out, offsets = io.BytesIO(), []
    out.write(b"%PDF-1.7\n")
    for n, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % n + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 5\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets))
    out.write(b"trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref)
    path.write_bytes(out.getvalue())
    return path


def test_invisible_dots_cut_neither_reading(tmp_path: Path) -> None:
    """The number's second half set 1 pt lower, an invisible dot drawn between the halves far down the page (a line
    break in content order) and one just above the line (a tiny character that would narrow the line's tolerance):
    characters nobody sees are left out of every reading, and the digits are read as they stand."""
    width = 20 * 0.556  # Helvetica's digits: 556/1000 em
    source = _raw_pdf(tmp_path / "split.pdf",
                      b"BT /F1 20 Tf 72 700 Td (%s) Tj ET\n" % RID[:9].encode()
                      + b"q BT 3 Tr /F1 0.3 Tf 300 100 Td (.) Tj ET Q\n"
                      + b"BT /F1 20 Tf %.2f 699 Td (%s) Tj ET\n" % (72 + 9 * width, RID[9:].encode())
                      + b"q BT 3 Tr /F1 0.3 Tf 60 707.3 Td (.) Tj ET Q\n")
    data, _done = _redacted(source)
    image = _render(data)
    for k in range(18):
        y = 700 if k < 9 else 699
        mean = _mean(image, (72 + k * width + 1, y + 1, 72 + (k + 1) * width - 1, y + 13))
        assert mean < 30 if 6 <= k < 14 else mean > 100, (k, mean)


def test_a_visible_repeat_of_an_invisible_number_is_painted_over(tmp_path: Path) -> None:
    """The number drawn invisibly, then visibly 100 pt to the right with a huge font size scaled down: PDFium may
    take the second for a repeat of the first (as fake bold is drawn) and drop it from the text page; either the
    visible one's birth date is painted over at its characters, or (dropped) the whole object is covered."""
    width = 20 * 0.556
    source = _raw_pdf(tmp_path / "repeat.pdf",
                      b"BT 3 Tr /F1 1000 Tf 0.02 0 0 0.02 72 700 Tm (%s) Tj ET\n" % RID.encode()
                      + b"BT 0 Tr /F1 1000 Tf 0.02 0 0 0.02 172 700 Tm (%s) Tj ET\n" % RID.encode())
    middle = (172 + 6 * width + 1, 701, 172 + 14 * width - 1, 713)
    assert _stddev(_render(source.read_bytes()), middle) > 40  # the digits, ink on white
    data, _done = _redacted(source)
    assert _stddev(_render(data), middle) < 3  # one even colour


@pytest.mark.parametrize(("name", "content", "places"), [
    # a Latin letter before the number: a code in a record's text, a number on a page
    ("glued", b"BT /F1 20 Tf 72 700 Td (ID%s) Tj ET" % RID.encode(), [(72 + (2 + k) * 11.12, 700) for k in range(18)]),
    # wrapped in a narrow table cell, nine digits a line
    ("wrapped", b"BT /F1 20 Tf 72 700 Td (%s) Tj 0 -24 Td (%s) Tj ET" % (RID[:9].encode(), RID[9:].encode()),
     [(72 + k * 11.12, 700) for k in range(9)] + [(72 + k * 11.12, 676) for k in range(9)]),
    # clipping text: the glyphs show through what is filled after them
    ("clip", b"q BT 7 Tr /F1 20 Tf 72 700 Td (%s) Tj ET 0 0 1 rg 0 0 595 842 re f Q" % RID.encode(),
     [(72 + k * 11.12, 700) for k in range(18)]),
])
def test_numbers_a_record_would_not_call_one_are_painted_over_on_a_page(tmp_path: Path, name: str, content: bytes,
                                                                          places: list[tuple[float, float]]) -> None:
    source = _raw_pdf(tmp_path / f"{name}.pdf", content)
    original = _render(source.read_bytes())
    image = _render(_redacted(source)[0])
    for k, (x, y) in enumerate(places):
        box = (x + 1, y + 1, x + 11.12 - 1, y + 13)
        assert _mean(original, box) > 60  # (ink on white, or the blue fill's glyphs)
        mean = _mean(image, box)
        assert mean < 30 if 6 <= k < 14 else mean > 60, (k, mean)


def test_a_copy_whose_child_failed_is_tried_again_only_after_a_while(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    source = _pdf(tmp_path / "id.pdf", _id_page)
    copies = ResearchCopies(tmp_path / "cache")
    calls = []

    def crash(*_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(1)
        raise RedactError(msgid="redact.failed", status=-6)
    monkeypatch.setattr(research_copies, "redact_in_child", crash)
    for _ in range(2):
        with pytest.raises(RedactError):
            copies.copy_of(source, "ef" * 64, [])
    assert len(calls) == 1  # the second request met the kept failure
    kept = next((tmp_path / "cache").glob("*.err"))
    old = kept.stat().st_mtime - research_copies.RETRY_SECONDS - 1
    os.utime(kept, (old, old))
    monkeypatch.undo()
    assert copies.copy_of(source, "ef" * 64, []).is_file()  # an hour on, it is made
