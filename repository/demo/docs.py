"""Document renderers for demo data: born-digital PDFs with Chinese text and scanned pages (TIFF, JPEG).

PDFs are drawn with reportlab's CID font ``STSong-Light`` (Adobe-GB1; the reader supplies the glyphs, so no
font file is embedded or needed). A form is a list of pages, each a list of blocks (:class:`Title`,
:class:`Fields`, :class:`Table`, :class:`Text`, :class:`Signatures`, :class:`Seal`, :class:`FloorPlan`).
Output is byte-identical for the same input: ``invariant=1`` and a creation date taken from the document.

Scans are drawn with Pillow: a page of glyph-like strokes, rules, a round seal, digits, a slight skew,
specks and a scanner-edge shadow; saved as bilevel CCITT Group 4 TIFF or as grayscale JPEG. Some scans carry
real text instead (:mod:`.textscan`).
"""

from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, overload

from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.colors import Color
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import TimeStamp
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from .textscan import NoDraw

FONT = "STSong-Light"
PAGE_W, PAGE_H = A4
MARGIN = 60.0
WIDTH = PAGE_W - 2 * MARGIN
SEAL_RED = Color(0.85, 0.1, 0.1, alpha=0.85)
CREATOR = "hsar demo-data"

_registered = False


def _font() -> str:
    global _registered
    if not _registered:
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
        _registered = True
    return FONT


def _fit(text: str, width: float, size: float, minimum: float = 6.0) -> float:
    while size > minimum and pdfmetrics.stringWidth(text, FONT, size) > width:
        size -= 0.5
    return size


def wrap(text: str, width: float, size: float) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` (Chinese text breaks between any two characters)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line, used = "", 0.0
        for ch in paragraph:
            w = pdfmetrics.stringWidth(ch, FONT, size)
            if used + w > width:
                lines.append(line)
                line, used = ch, w
            else:
                line, used = line + ch, used + w
        lines.append(line)
    return lines


class Block:
    """One vertical piece of a page; ``draw`` returns the new cursor height."""

    def draw(self, c: Canvas, y: float) -> float:
        raise NotImplementedError


@dataclass(frozen=True)
class Title(Block):
    text: str
    sub: str = ""

    def draw(self, c: Canvas, y: float) -> float:
        c.setFont(FONT, 20)
        c.drawCentredString(PAGE_W / 2, y - 22, self.text)
        y -= 34
        if self.sub:
            c.setFont(FONT, 10)
            c.drawRightString(PAGE_W - MARGIN, y - 4, self.sub)
            y -= 16
        return y - 8


@dataclass(frozen=True)
class Fields(Block):
    """A ruled form: label/value pairs, ``columns`` pairs per row."""

    pairs: tuple[tuple[str, str], ...]
    columns: int = 2
    row_h: float = 24.0

    def draw(self, c: Canvas, y: float) -> float:
        cell = WIDTH / self.columns
        label_w = min(84.0, cell * 0.4)
        c.setLineWidth(0.6)
        for start in range(0, len(self.pairs), self.columns):
            row = self.pairs[start:start + self.columns]
            c.rect(MARGIN, y - self.row_h, WIDTH, self.row_h)
            for i, (label, value) in enumerate(row):
                x = MARGIN + i * cell
                span = cell if i < len(row) - 1 else WIDTH - i * cell
                c.line(x + label_w, y, x + label_w, y - self.row_h)
                if i:
                    c.line(x, y, x, y - self.row_h)
                c.setFont(FONT, _fit(label, label_w - 6, 10.5))
                c.drawString(x + 3, y - self.row_h / 2 - 4, label)
                c.setFont(FONT, _fit(value, span - label_w - 6, 10.5))
                c.drawString(x + label_w + 4, y - self.row_h / 2 - 4, value)
            y -= self.row_h
        return y - 10


@dataclass(frozen=True)
class Table(Block):
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths: tuple[float, ...] = ()  # fractions of the width; equal when empty
    row_h: float = 22.0

    def draw(self, c: Canvas, y: float) -> float:
        fractions = self.widths or tuple(1 / len(self.headers) for _ in self.headers)
        xs = [MARGIN]
        for f in fractions:
            xs.append(xs[-1] + f * WIDTH)
        c.setLineWidth(0.6)
        for r, row in enumerate((self.headers, *self.rows)):
            c.rect(MARGIN, y - self.row_h, WIDTH, self.row_h)
            for i, text in enumerate(row):
                if i:
                    c.line(xs[i], y, xs[i], y - self.row_h)
                c.setFont(FONT, _fit(text, xs[i + 1] - xs[i] - 6, 10.5 if r else 11))
                c.drawCentredString((xs[i] + xs[i + 1]) / 2, y - self.row_h / 2 - 4, text)
            y -= self.row_h
        return y - 10


@dataclass(frozen=True)
class Text(Block):
    text: str
    size: float = 11.0
    indent: bool = True

    def draw(self, c: Canvas, y: float) -> float:
        c.setFont(FONT, self.size)
        body = ("\u3000\u3000" if self.indent else "") + self.text.replace("\n", "\n\u3000\u3000" if self.indent else "\n")
        for line in wrap(body, WIDTH, self.size):
            c.drawString(MARGIN, y - self.size, line)
            y -= self.size * 1.7
        return y - 6


@dataclass(frozen=True)
class Signatures(Block):
    """Signature lines, e.g. ("申请人（签字）", "2021年3月2日")."""

    lines: tuple[tuple[str, str], ...]

    def draw(self, c: Canvas, y: float) -> float:
        c.setFont(FONT, 11)
        for label, when in self.lines:
            c.drawString(PAGE_W / 2, y - 12, f"{label}：")
            c.line(PAGE_W / 2 + 100, y - 14, PAGE_W - MARGIN, y - 14)
            c.drawRightString(PAGE_W - MARGIN, y - 30, when)
            y -= 42
        return y - 4


@dataclass(frozen=True)
class Seal(Block):
    """A round official seal (公章) with the organisation's name around a star, drawn at the cursor."""

    organisation: str
    x: float = PAGE_W - MARGIN - 70

    def draw(self, c: Canvas, y: float) -> float:
        cx, cy, r = self.x, y + 30, 42.0
        c.saveState()
        c.setStrokeColor(SEAL_RED)
        c.setFillColor(SEAL_RED)
        c.setLineWidth(2.2)
        c.circle(cx, cy, r)
        _star(c, cx, cy, 11)
        c.setFont(FONT, 9.5)
        name = self.organisation[:16]
        step = min(18.0, 240.0 / max(len(name), 1))
        for i, ch in enumerate(name):
            c.saveState()
            c.translate(cx, cy)
            c.rotate(step * (len(name) - 1) / 2 - step * i)
            c.drawCentredString(0, r - 13, ch)
            c.restoreState()
        c.restoreState()
        return y


def _star(c: Canvas, cx: float, cy: float, r: float) -> None:
    points = []
    for k in range(10):
        radius = r if k % 2 == 0 else r * 0.4
        angle = math.pi / 2 + k * math.pi / 5
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    path = c.beginPath()
    path.moveTo(*points[0])
    for p in points[1:]:
        path.lineTo(*p)
    path.close()
    c.drawPath(path, stroke=0, fill=1)


# Room boxes per layout: (label, x, y, w, h) on a 10 x 7 grid.
_PLANS: dict[str, tuple[tuple[str, float, float, float, float], ...]] = {
    "一室户": (("起居室", 0, 0, 6, 7), ("厨房", 6, 4, 4, 3), ("卫生间", 6, 0, 4, 4)),
    "一室一厅": (("卧室", 0, 3.5, 5, 3.5), ("客厅", 0, 0, 5, 3.5), ("厨房", 5, 4, 5, 3), ("卫生间", 5, 0, 5, 4)),
    "两室一厅": (("主卧", 0, 3.5, 4, 3.5), ("次卧", 4, 3.5, 3, 3.5), ("客厅", 0, 0, 7, 3.5),
               ("厨房", 7, 3.5, 3, 3.5), ("卫生间", 7, 0, 3, 3.5)),
}


@dataclass(frozen=True)
class FloorPlan(Block):
    layout: str
    area: float

    def draw(self, c: Canvas, y: float) -> float:
        unit = WIDTH / 10
        top = y - 10
        c.setLineWidth(2)
        for label, gx, gy, gw, gh in _PLANS.get(self.layout, _PLANS["一室一厅"]):
            x0, y0 = MARGIN + gx * unit, top - 7 * unit + gy * unit
            c.rect(x0, y0, gw * unit, gh * unit)
            c.setFont(FONT, 12)
            c.drawCentredString(x0 + gw * unit / 2, y0 + gh * unit / 2, label)
        c.setFont(FONT, 10)
        c.drawString(MARGIN, top - 7 * unit - 18, f"户型：{self.layout}　建筑面积：{self.area:.2f} 平方米　（示意图，不按比例）")
        return top - 7 * unit - 30


@dataclass(frozen=True)
class PdfMeta:
    title: str
    author: str
    subject: str
    created: date
    keywords: tuple[str, ...] = field(default=())


def render_pdf(pages: list[list[Block]], meta: PdfMeta) -> bytes:
    """Render ``pages`` to PDF bytes, deterministically (same blocks and meta, same bytes)."""
    _font()
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4, invariant=1, pageCompression=1)
    stamp = TimeStamp(invariant=1)
    stamp.YMDhms = (meta.created.year, meta.created.month, meta.created.day, 9, 30, 0)
    stamp.dhh, stamp.dmm = 8, 0  # China Standard Time
    c._doc._timeStamp = stamp
    c.setTitle(meta.title)
    c.setAuthor(meta.author)
    c.setSubject(meta.subject)
    c.setCreator(CREATOR)
    c.setKeywords(", ".join(meta.keywords))
    for number, blocks in enumerate(pages, start=1):
        y = PAGE_H - MARGIN
        for block in blocks:
            y = block.draw(c, y)
        c.setFont(FONT, 9)
        c.drawCentredString(PAGE_W / 2, 30, f"第 {number} 页 共 {len(pages)} 页")
        c.showPage()
    c.save()
    return buf.getvalue()


# ----- scans -----

SCAN_W, SCAN_H = 1240, 1754  # A4 at 150 dpi


def _glyphs(d: ImageDraw.ImageDraw, rng: random.Random, x: int, y: int, count: int, size: int) -> None:
    """``count`` hanzi-like glyphs: a few strokes in each ``size`` cell."""
    for k in range(count):
        gx = x + k * (size + size // 5)
        for _ in range(rng.randint(2, 4)):
            x0, y0 = gx + rng.randrange(size), y + rng.randrange(size)
            if rng.random() < 0.5:
                d.line((x0, y0, gx + rng.randrange(size), y0), fill=20, width=max(2, size // 9))
            else:
                d.line((x0, y0, x0, y + rng.randrange(size)), fill=20, width=max(2, size // 9))


def _seal(d: ImageDraw.ImageDraw, rng: random.Random, cx: int, cy: int, r: int) -> None:
    d.ellipse((cx - r, cy - r, cx + r, cy + r), outline=70, width=6)
    d.regular_polygon((cx, cy, r // 4), 5, fill=70)
    for k in range(9):  # the organisation's name runs round the upper arc
        angle = math.radians(160 - k * 140 / 8)
        gx, gy = cx + 0.72 * r * math.cos(angle), cy - 0.72 * r * math.sin(angle)
        _glyphs(d, rng, int(gx) - 9, int(gy) - 9, 1, 18)


@overload
def scan_page(rng: random.Random, *, heading: int = ..., lines: int = ..., digits: tuple[str, ...] = ...,
              table: bool = ..., seal: bool = ..., dry: Literal[False] = ...) -> Image.Image: ...
@overload
def scan_page(rng: random.Random, *, heading: int = ..., lines: int = ..., digits: tuple[str, ...] = ...,
              table: bool = ..., seal: bool = ..., dry: Literal[True]) -> None: ...
def scan_page(rng: random.Random, *, heading: int = 8, lines: int = 14, digits: tuple[str, ...] = (),
              table: bool = False, seal: bool = True, dry: bool = False) -> Image.Image | None:
    """One scanned A4 page (grayscale, 150 dpi): heading, body lines, optional ruled table and seal.

    ``dry`` draws nothing and returns None, consuming ``rng`` as drawing would (so a document that no longer
    draws such a page leaves the documents after it as they were)."""
    img = None if dry else Image.new("L", (SCAN_W, SCAN_H), 255)
    d: Any = NoDraw() if img is None else ImageDraw.Draw(img)
    _glyphs(d, rng, (SCAN_W - heading * 50) // 2, 140, heading, 42)
    y = 260
    font = None if dry else ImageFont.load_default(size=30)
    for text in digits:
        d.text((150, y), text, fill=15, font=font)
        y += 56
    if table:
        rows = rng.randint(4, 7)
        for r in range(rows + 1):
            d.line((120, y + r * 60, SCAN_W - 120, y + r * 60), fill=30, width=3)
        for x in (120, 420, 760, SCAN_W - 120):
            d.line((x, y, x, y + rows * 60), fill=30, width=3)
        for r in range(rows):
            for x in (140, 440, 780):
                _glyphs(d, rng, x, y + r * 60 + 16, rng.randint(2, 5), 26)
        y += rows * 60 + 40
    for _ in range(lines):
        if y > SCAN_H - 360:
            break
        _glyphs(d, rng, 150 if rng.random() < 0.8 else 210, y, rng.randint(14, 27), 30)
        y += 58
    if seal:
        _seal(d, rng, SCAN_W - 330, SCAN_H - 280, 120)
    return _age(img, rng)


def _age(img: Image.Image | None, rng: random.Random) -> Image.Image | None:
    """Skew a little, add specks and the dark edge a flatbed scanner leaves (None: only take the numbers)."""
    angle = rng.uniform(-0.7, 0.7)
    img = None if img is None else img.rotate(angle, resample=Image.Resampling.NEAREST, fillcolor=255)
    d: Any = NoDraw() if img is None else ImageDraw.Draw(img)
    for _ in range(400):
        x, y = rng.randrange(SCAN_W), rng.randrange(SCAN_H)
        d.point((x, y), fill=rng.randrange(0, 120))
    edge = rng.randint(6, 14)
    d.rectangle((0, 0, edge, SCAN_H), fill=40)
    return img


def id_card_copy(rng: random.Random, resident_ids: tuple[str, ...]) -> Image.Image:
    """A photocopy of identity cards (front and back of each), as one grayscale page."""
    img = Image.new("L", (SCAN_W, SCAN_H), 250)
    d = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=26)
    for k, number in enumerate(resident_ids[:3]):
        top = 120 + k * 520
        for side, left in enumerate((90, 650)):
            d.rounded_rectangle((left, top, left + 500, top + 316), radius=24, outline=60, width=4, fill=232)
            if side == 0:
                d.rectangle((left + 330, top + 40, left + 470, top + 220), fill=150)
                for row in range(4):
                    _glyphs(d, rng, left + 30, top + 40 + row * 44, rng.randint(3, 7), 24)
                d.text((left + 30, top + 256), number, fill=10, font=font)
            else:
                _seal(d, rng, left + 90, top + 90, 55)
                _glyphs(d, rng, left + 170, top + 60, 8, 30)
                for row in range(2):
                    _glyphs(d, rng, left + 60, top + 200 + row * 44, 10, 22)
    aged = _age(img, rng)
    assert aged is not None
    return aged


def tiff_bytes(pages: list[Image.Image], dpi: int = 150) -> bytes:
    """Bilevel CCITT Group 4 TIFF (one image per page), 150 dpi unless told."""
    bilevel = [p.point(lambda v: 255 if v > 150 else 0).convert("1", dither=Image.Dither.NONE) for p in pages]
    buf = io.BytesIO()
    bilevel[0].save(buf, format="TIFF", compression="group4", dpi=(dpi, dpi), save_all=True,
                    append_images=bilevel[1:])
    return buf.getvalue()


def jpeg_bytes(page: Image.Image, *, quality: int = 55) -> bytes:
    """Grayscale JPEG at 100 dpi (a downscaled phone or copier scan)."""
    small = page.resize((827, 1169), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    small.save(buf, format="JPEG", quality=quality, dpi=(100, 100), optimize=True)
    return buf.getvalue()
