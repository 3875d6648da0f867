"""Identification past FIDO's own bugs: one small file per class of :data:`repository.formats.fidodiff.DIFFERENCES`.

Each test builds its file, checks hsar's verdict and checks that FIDO's own matching (``fido_reference``,
FIDO's code through its ``handle_matches`` callback) gives another one, so a test fails both when hsar
regresses and when the difference it documents no longer exists.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import pytest

from repository.formats.container import sequence_regex
from repository.formats.fidodiff import DIFFERENCES
from repository.formats.identify import OFD_PUID, Identifier
from repository.formats.sigregex import consume_negations

XMP = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
       b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
       b'xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"><pdfaid:part>1</pdfaid:part>'
       b"<pdfaid:conformance>B</pdfaid:conformance></rdf:Description></rdf:RDF></x:xmpmeta>")
COMPOBJ_WORD97 = b"\x01\x00\xfe\xff\x03\x0a\x00\x00" + b"\xff" * 4 + b"\x00" * 16 + b"\x1f\x00\x00\x00" + \
    b"Microsoft Word 97-2003 Document\x00" + b"\x0a\x00\x00\x00MSWordDoc\x00" + \
    b"\x10\x00\x00\x00Word.Document.8\x00"
DOCX_TYPES = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.'
              'org/package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/'
              'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
ODT_MANIFEST = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:'
                'opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path'
                '="/" manifest:media-type="application/vnd.oasis.opendocument.text"/></manifest:manifest>')
ODT_CONTENT = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:'
               'opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
               + " ".join(f'xmlns:ns{i}="urn:example:{i}"' for i in range(40))
               + ' office:version="1.2"><office:body><office:text/></office:body></office:document-content>')


def make_ole(path: Path, streams: dict[str, bytes], directory_after: int = 0) -> Path:
    """An OLE2 compound file (CFB v3, 512-byte sectors), streams of >= 4096 bytes each, chained as
    right siblings; the directory sector sits after the first ``directory_after`` streams' data."""
    end, free = 0xFFFFFFFE, 0xFFFFFFFF
    blobs = {name: data + b"\x00" * (-len(data) % 512) for name, data in streams.items()}
    sectors = sum(len(b) // 512 for b in blobs.values()) + 1
    fats = 1
    while fats * 128 < fats + sectors:
        fats += 1
    fat = [0xFFFFFFFD] * fats
    layout: list[tuple[str | None, bytes]] = []
    starts: dict[str, int] = {}
    dir_sector = -1
    for n, (name, blob) in enumerate([*blobs.items(), (None, b"")]):
        if n == min(directory_after, len(blobs)) and dir_sector < 0:
            dir_sector = len(fat)
            fat.append(end)
            layout.append(("<dir>", b""))
        if name is None:
            break
        starts[name] = len(fat)
        count = len(blob) // 512
        fat += [len(fat) + i + 1 for i in range(count - 1)] + [end]
        layout.append((name, blob))
    fat += [free] * (fats * 128 - len(fat))
    header = struct.pack("<8s16sHHHHH6sIIIIIIIII", bytes.fromhex("D0CF11E0A1B11AE1"), bytes(16), 0x3E, 3,
                         0xFFFE, 9, 6, bytes(6), 0, fats, dir_sector, 0, 4096, end, 0, end, 0)
    header += struct.pack("<109I", *(list(range(fats)) + [free] * (109 - fats)))

    def entry(name: str, kind: int, right: int, child: int, start: int, size: int) -> bytes:
        raw = name.encode("utf-16-le") + b"\x00\x00" if name else b""
        return struct.pack("<64sHBBIII16sIQQIQ", raw, len(raw), kind, 1, free, right, child, bytes(16), 0, 0, 0,
                           start, size)

    names = list(blobs)
    directory = entry("Root Entry", 5, free, 1 if names else free, end, 0)
    for i, name in enumerate(names):
        directory += entry(name, 2, i + 2 if i + 1 < len(names) else free, free, starts[name], len(streams[name]))
    directory += entry("", 0, free, free, 0, 0) * (-(len(names) + 1) % 4)
    body = b"".join(directory if name == "<dir>" else blob for name, blob in layout)
    path.write_bytes(header + struct.pack(f"<{len(fat)}I", *fat) + body)
    return path


def make_word_docx(path: Path) -> Path:
    """A DOCX shaped as Word writes it (extra field 0xA220 on the first entry, 'made by' 4.5), which FIDO's
    own fido-fmt/189.word signature recognises."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        first = zipfile.ZipInfo("[Content_Types].xml")
        first.extra = struct.pack("<HH", 0xA220, 4) + b"\x00" * 4
        for info, text in ((first, DOCX_TYPES), (zipfile.ZipInfo("word/document.xml"), "<w:document/>"),
                           (zipfile.ZipInfo("docProps/app.xml"), "<Properties/>")):
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_version = 45
            z.writestr(info, text)
    return path


@pytest.fixture(scope="module")
def identifier():
    with Identifier(timeout_seconds=0) as ident:
        yield ident


def verdicts(identifier: Identifier, path: Path) -> tuple[tuple[str, ...], list[str]]:
    """(hsar's candidates, FIDO's PUIDs) for one file."""
    fact = identifier.identify_unlimited(path)
    return fact.candidates, [puid for puid, _ in identifier.fido_reference(path)]


def test_every_difference_class_has_a_test():
    tested = {name[len("test_"):].replace("_", "-") for name in globals() if name.startswith("test_")}
    assert set(DIFFERENCES) <= tested


def test_container_files(identifier, tmp_path):
    """Word 97-2003: the pattern is in CompObj, the name WordDocument; FIDO looks for it in WordDocument."""
    doc = make_ole(tmp_path / "form.doc", {"WordDocument": b"\xec\xa5\xc1\x00" + b"\x00" * 8000,
                                            "\x01CompObj": COMPOBJ_WORD97 + b"\x00" * 4096})
    ours = identifier.identify_unlimited(doc).candidates
    assert ours[0] == "fmt/40" and set(ours) <= {"fmt/40", "fmt/609"}  # 609: Word (generic), no priority in v109
    # FIDO's pairing: CompObj's pattern found in a WordDocument stream, in a file with no CompObj at all
    paired = make_ole(tmp_path / "paired.doc", {"WordDocument": COMPOBJ_WORD97 + b"\x00" * 8000})
    ours, fido = verdicts(identifier, paired)
    assert "fmt/40" in fido
    assert "fmt/40" not in ours and ours[0] == "fmt/609"


def test_container_files_odf_version(identifier, tmp_path):
    """ODF 1.2 by office:version in content.xml, a second subsequence after namespace declarations (FIDO
    keeps only the first sequence of a signature)."""
    odt = tmp_path / "letter.odt"
    with zipfile.ZipFile(odt, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        z.writestr("META-INF/manifest.xml", ODT_MANIFEST)
        z.writestr("content.xml", ODT_CONTENT)
    assert identifier.identify_unlimited(odt).candidates == ("fmt/291",)
    content = ODT_CONTENT.replace('office:version="1.2"', 'office:version="1.1"')
    with zipfile.ZipFile(odt, "w") as z:
        z.writestr("META-INF/manifest.xml", ODT_MANIFEST)
        z.writestr("content.xml", content)
    assert "fmt/291" not in identifier.identify_unlimited(odt).candidates


def test_container_presence(identifier, tmp_path):
    """PowerPoint 97-2003 whose directory sits ~530 KB in, out of both 128 KiB buffers."""
    ppt = make_ole(tmp_path / "slides.ppt", {"PowerPoint Document": b"p" * 530_000, "Pictures": b"q" * 300_000,
                                             "Current User": b"u" * 4096}, directory_after=1)
    data = ppt.read_bytes()
    where = data.find("PowerPoint Document".encode("utf-16-le"))
    assert 131072 < where < len(data) - 131072
    ours, fido = verdicts(identifier, ppt)
    assert ours == ("fmt/126",)
    assert "fmt/126" not in fido


def test_negated_byte(identifier, tmp_path):
    """HFS (fmt/1105): ``[!&01]00`` is an even byte *then* 00, not a 00 that is also even."""
    image = tmp_path / "volume"
    image.write_bytes(b"\x00" * 1024 + b"BD" + b"\x11" * 12 + b"\x00\x03" + b"\x22" * 6 + b"\x02\x00"
                      + b"\x00" * 4000)
    ours, fido = verdicts(identifier, image)
    assert ours[0] == "fmt/1105"
    assert "fmt/1105" not in fido
    assert consume_negations(rb"\Aa(?!\x01)b") == rb"\Aa(?!\x01).{1}b"
    assert consume_negations(rb"\Aa(?!xy)") == rb"\Aa(?!xy).{2}"


def test_fido_local_formats(identifier, tmp_path):
    docx = make_word_docx(tmp_path / "contract.docx")
    ours, fido = verdicts(identifier, docx)
    assert ours == ("fmt/412",)
    assert fido == ["fido-fmt/189.word"]
    assert not any(p.startswith("fido-") for p in identifier.table.match_extension("x.docx") for p in [
        identifier.table.formats[p[0]].puid])


def test_var_both_ends(identifier, tmp_path):
    """PDF/A-1b whose XMP sits near the end of a 400 KB file."""
    pdf = tmp_path / "archived.pdf"
    pdf.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + (b"%" + b"x" * 99 + b"\n") * 4000
                    + b"1 0 obj\n<< /Type /Metadata /Subtype /XML >>\nstream\n" + XMP + b"\nendstream\nendobj\n"
                    + b"trailer\n<< /Root 1 0 R >>\n%%EOF\n")
    ours, fido = verdicts(identifier, pdf)
    assert ours[0] == "fmt/354"
    assert "fmt/354" not in fido


def test_plain_text(identifier, tmp_path):
    utf8 = tmp_path / "notes.txt"
    utf8.write_text("住房保障档案 诚信申报\n" * 20, "utf-8")
    gbk = tmp_path / "export.dat"
    gbk.write_bytes("轮候记录，审核表\r\n".encode("gb18030") * 20)
    binary = tmp_path / "noise.dat"
    binary.write_bytes(bytes(range(256)) * 4)
    fact = identifier.identify_unlimited(utf8)
    assert (fact.puid, fact.method, fact.ambiguous) == ("x-fmt/111", "text", False) and "utf-8" in fact.basis
    assert identifier.identify_unlimited(gbk).candidates == ("x-fmt/111",)
    assert "gb18030" in identifier.identify_unlimited(gbk).basis
    assert "x-fmt/111" not in identifier.identify_unlimited(binary).candidates
    fido_txt = [p for p, _ in identifier.fido_reference(utf8)]
    assert fido_txt != ["x-fmt/111"]  # FIDO: every format using .txt, by name
    assert "x-fmt/111" not in [p for p, _ in identifier.fido_reference(gbk)]


def test_extension_generic_first(identifier, tmp_path):
    broken = tmp_path / "scan.pdf"
    broken.write_bytes(b"not a PDF at all \x00\x01\x02")
    fact = identifier.identify_unlimited(broken)
    assert fact.method == "extension" and fact.ambiguous
    assert fact.puid == "fmt/14" and "fmt/95" in fact.candidates
    assert "PDF/A" not in fact.name
    assert [p for p, _ in identifier.fido_reference(broken)][0] == "fmt/95"


@pytest.mark.parametrize("namespace", ["http://www.ofdspec.org", "http://www.ofdspec.org/2016"])
def test_ofd_namespace_with_and_without_year(identifier, tmp_path, namespace):
    ofd = tmp_path / "notice.ofd"
    with zipfile.ZipFile(ofd, "w") as z:
        z.writestr("OFD.xml", f'<ofd:OFD xmlns:ofd="{namespace}" Version="1.0" DocType="OFD"/>')
    fact = identifier.identify_unlimited(ofd)
    assert fact.puid == OFD_PUID and namespace in fact.basis


@pytest.mark.parametrize(("sequence", "regex"), [
    ("10 00 'Ab'", rb"\x10\x00Ab"),
    ("[05-0F]", rb"[" + b"".join(b"\\x%02x" % b for b in range(5, 16)) + rb"]"),
    ("['6'-'7']", rb"[\x36\x37]"),
    ("[22 27]", rb"[\x22\x27]"),
    ("[!00]", rb"[" + b"".join(b"\\x%02x" % b for b in range(1, 256)) + rb"]"),
    ("?? {2-4} *", rb"..{2,4}.*"),
    ("(01|02)", rb"(?:\x01|\x02)"),
])
def test_container_sequence_syntax(sequence, regex):
    assert sequence_regex(sequence) == regex
