"""Clean scans of real Chinese text, for OCR: a CJK font from Debian at 300 dpi, the words kept as the truth
an OCR accuracy test compares with (``ocr_truth`` in ``demo_manifest.json``).

Also :class:`NoDraw`, which lets the glyph-stroke scans of :mod:`.docs` take their random numbers without drawing.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont


class NoDraw:
    """Draws nothing: lets ``scan_page(dry=True)`` take exactly the random numbers it would draw with."""

    def __getattr__(self, _name: str) -> Callable[..., None]:
        return lambda *_a, **_k: None


TEXT_SCAN_DPI = 300
TEXT_W, TEXT_H = 2480, 3508  # A4 at 300 dpi
CJK_FONTS = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
             "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
             "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc")


@lru_cache(maxsize=4)
def cjk_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A CJK font from Debian (Noto Sans CJK SC, else WenQuanYi Micro Hei); Pillow's own font if neither."""
    for path in CJK_FONTS:
        if Path(path).is_file():
            index = 2 if "NotoSansCJK" in path or "NotoSerifCJK" in path else 0  # the .ttc's SC face
            try:
                return ImageFont.truetype(path, size, index=index)
            except OSError:
                continue
    return ImageFont.load_default(size=size)


def text_scan(title: str, lines: tuple[str, ...]) -> Image.Image:
    """A clean A4 page at 300 dpi with a centred title and left-aligned lines, as a flatbed scans a print."""
    img = Image.new("L", (TEXT_W, TEXT_H), 255)
    d = ImageDraw.Draw(img)
    head, body = cjk_font(84), cjk_font(52)
    width = d.textlength(title, font=head)
    d.text(((TEXT_W - width) / 2, 320), title, fill=0, font=head)
    y = 560
    for line in lines:
        d.text((260, y), line, fill=0, font=body)
        y += 112
    return img
