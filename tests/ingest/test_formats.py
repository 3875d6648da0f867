"""The format step of ingest: facts, policy levels and FMT issues per payload file, incl. FMT008."""

from __future__ import annotations

import hashlib
from pathlib import Path

from PIL import Image

from repository import config
from repository.ingest.formats import FileInfo, assess_formats


def _pe(path: Path) -> None:
    header = bytearray(b"MZ" + b"\x90\x00" * 29)
    header += b"\x00" * (0x3C - len(header)) + (0x80).to_bytes(4, "little")
    header += b"\x00" * (0x80 - len(header)) + b"PE\x00\x00" + b"\x4c\x01\x03\x00" + b"\x00" * 200
    path.write_bytes(bytes(header))


def _info(bag: Path, rel: str) -> FileInfo:
    data = (bag / rel).read_bytes()
    return FileInfo(rel, len(data), hashlib.sha512(data).hexdigest())


def test_executable_is_refused_as_a_security_risk_and_images_preserved(tmp_path: Path) -> None:
    bag = tmp_path / "bag"
    (bag / "data").mkdir(parents=True)
    _pe(bag / "data" / "setup.exe")
    Image.new("L", (40, 30), 255).save(bag / "data" / "scan.tif", compression="tiff_lzw")
    payload = {rel: _info(bag, rel) for rel in ("data/setup.exe", "data/scan.tif")}
    cfg = config.load(tmp_path, environ={})
    assessed, issues = assess_formats(bag, payload, cfg)
    assert assessed["data/scan.tif"].puid == "fmt/353"
    assert assessed["data/scan.tif"].policy == "preservation"
    assert assessed["data/setup.exe"].policy == "refused"
    by_path = {(i.path, i.code) for i in issues}
    assert ("data/setup.exe", "FMT008") in by_path
    assert ("data/setup.exe", "FMT002") in by_path
    assert not any(p == "data/scan.tif" for p, _ in by_path)


def _pdf(path: Path, decorate=None) -> None:
    """A PDF written by pyHanko; ``decorate(writer)`` adds what the test needs."""
    import io

    from pyhanko.pdf_utils.writer import PdfFileWriter

    writer = PdfFileWriter()
    if decorate is not None:
        decorate(writer)
    out = io.BytesIO()
    writer.write(out)
    path.write_bytes(out.getvalue())


def _action(kind: str):
    from pyhanko.pdf_utils import generic

    def decorate(writer) -> None:
        name = generic.NameObject
        if kind == "javascript":  # an /OpenAction running JavaScript
            action = generic.DictionaryObject({name("/S"): name("/JavaScript"),
                                               name("/JS"): generic.TextStringObject("app.alert(1)")})
            writer.root[name("/OpenAction")] = writer.add_object(action)
        elif kind == "launch":  # a document additional action (on close) starting a program
            action = generic.DictionaryObject({name("/S"): name("/Launch"),
                                               name("/F"): generic.TextStringObject("/bin/true")})
            writer.root[name("/AA")] = generic.DictionaryObject({name("/WC"): writer.add_object(action)})
        elif kind == "embedded-file":  # an attachment in the /EmbeddedFiles name tree
            stream = writer.add_object(generic.StreamObject({name("/Type"): name("/EmbeddedFile")},
                                                            stream_data=b"\x7fELF attached"))
            spec = generic.DictionaryObject({name("/Type"): name("/Filespec"),
                                             name("/F"): generic.TextStringObject("tool"),
                                             name("/EF"): generic.DictionaryObject({name("/F"): stream})})
            tree = generic.DictionaryObject({name("/Names"): generic.ArrayObject(
                [generic.TextStringObject("tool"), writer.add_object(spec)])})
            writer.root[name("/Names")] = generic.DictionaryObject({name("/EmbeddedFiles"): tree})
    return decorate


def test_active_content_in_pdfs_is_found(tmp_path: Path) -> None:
    from pyhanko.pdf_utils.reader import PdfFileReader

    from repository.formats.pdfactive import active_content

    for kind in (None, "javascript", "launch", "embedded-file"):
        path = tmp_path / f"{kind}.pdf"
        _pdf(path, _action(kind) if kind else None)
        with open(path, "rb") as handle:
            assert active_content(PdfFileReader(handle, strict=False)) == ((kind,) if kind else ()), kind


def test_pdf_scripts_are_refused_and_attachments_flagged(tmp_path: Path) -> None:
    bag = tmp_path / "bag"
    (bag / "data").mkdir(parents=True)
    for kind in ("javascript", "launch", "embedded-file"):
        _pdf(bag / "data" / f"{kind}.pdf", _action(kind))
    _pdf(bag / "data" / "plain.pdf")
    payload = {f"data/{n}.pdf": _info(bag, f"data/{n}.pdf") for n in ("javascript", "launch", "embedded-file", "plain")}
    _assessed, issues = assess_formats(bag, payload, config.load(tmp_path, environ={}))
    by_path = {(i.path, i.code, i.severity.value) for i in issues if i.code in ("FMT009", "FMT010")}
    assert by_path == {("data/javascript.pdf", "FMT009", "error"), ("data/launch.pdf", "FMT009", "error"),
                       ("data/embedded-file.pdf", "FMT010", "warning")}
    assert not any(i.path == "data/plain.pdf" and i.severity.value == "error" for i in issues)
