"""An image-only PDF written one page at a time: the container of researchers' copies (:mod:`.redact`)."""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from typing import IO


def write_image_pdf(out: IO[bytes], pages: Iterable[tuple[bytes, tuple[float, float]]]) -> int:
    """Write a PDF of JPEG pages (each with its size in points) to ``out``, one page in memory at a time;
    the number of pages. Nothing but the images: no metadata, no text."""
    offsets: dict[int, int] = {}
    written = 0

    def put(data: bytes) -> None:
        nonlocal written
        out.write(data)
        written += len(data)

    def obj(number: int, body: bytes, stream: bytes | None = None) -> None:
        offsets[number] = written
        put(b"%d 0 obj\n" % number + body)
        if stream is not None:
            put(b"\nstream\n" + stream + b"\nendstream")
        put(b"\nendobj\n")

    put(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    obj(1, b"<< /Type /Catalog /Pages 2 0 R >>")
    kids: list[int] = []
    number = 3
    for jpeg, (width, height) in pages:
        pixels_w, pixels_h, components = _jpeg_size(jpeg)
        space = b"/DeviceGray" if components == 1 else b"/DeviceRGB"
        obj(number, b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace %s /BitsPerComponent 8"
                    b" /Filter /DCTDecode /Length %d >>" % (pixels_w, pixels_h, space, len(jpeg)), jpeg)
        content = zlib.compress(b"q %.2f 0 0 %.2f 0 0 cm /P Do Q" % (width, height))
        obj(number + 1, b"<< /Length %d /Filter /FlateDecode >>" % len(content), content)
        obj(number + 2, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] /Resources << /XObject << /P %d 0 R >>"
                        b" >> /Contents %d 0 R >>" % (width, height, number, number + 1))
        kids.append(number + 2)
        number += 3
    obj(2, b"<< /Type /Pages /Count %d /Kids [%s] >>" % (len(kids), b" ".join(b"%d 0 R" % k for k in kids)))
    xref = written
    put(b"xref\n0 %d\n0000000000 65535 f \n" % number)
    for n in range(1, number):
        put(b"%010d 00000 n \n" % offsets[n])
    put(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (number, xref))
    return len(kids)


def _jpeg_size(jpeg: bytes) -> tuple[int, int, int]:
    """Width, height and colour components of a baseline or progressive JPEG (its SOF marker)."""
    i = 2
    while i + 9 < len(jpeg):
        if jpeg[i] != 0xFF:
            i += 1
            continue
        marker = jpeg[i + 1]
        if marker in (0xC0, 0xC1, 0xC2):
            return int.from_bytes(jpeg[i + 7:i + 9], "big"), int.from_bytes(jpeg[i + 5:i + 7], "big"), jpeg[i + 9]
        i += 2 + int.from_bytes(jpeg[i + 2:i + 4], "big")
    raise ValueError("no frame header in the JPEG")
