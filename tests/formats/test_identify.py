"""Format identification: PUIDs, methods, FIDO parity, OFD, encryption, bounded reads and the time limit."""

from __future__ import annotations

import os
import random
import re
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter
from pypdf.generic import NameObject, StreamObject
from reportlab.pdfgen import canvas

from repository.formats import identify as identify_mod
from repository.formats.fidodiff import DIFFERENCES
from repository.formats.identify import OFD_PUID, FormatFact, Identifier, pronom_candidates
from repository.formats.pool import TimeLimitedPool
from repository.formats.probe import ole_members, read_buffers
from repository.formats.signatures import FORMAT_FILES
from repository.formats.sigregex import check_holds, pattern_checks

XMP = """<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
<pdfaid:part>1</pdfaid:part><pdfaid:conformance>B</pdfaid:conformance></rdf:Description>
</rdf:RDF></x:xmpmeta><?xpacket end="w"?>"""
OFD = ('<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.1" '
       'DocType="OFD"><ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>')
DOCM_TYPES = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/'
              'package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/'
              'vnd.ms-word.document.macroEnabled.main+xml"/></Types>')


WORD97 = b"\x10\x00\x00\x00Word.Document.8\x00"


def make_pdf(path: Path, pages: int = 2) -> Path:
    c = canvas.Canvas(str(path))
    for n in range(pages):
        c.drawString(72, 720, f"Application form, page {n + 1}")
        c.showPage()
    c.save()
    return path


def make_pdfa(path: Path, tmp: Path) -> Path:
    """A reportlab PDF with PDF/A-1b identification in an uncompressed XMP stream (PDF/A-ish)."""
    writer = PdfWriter(clone_from=PdfReader(make_pdf(tmp / "base-for-pdfa.pdf")))
    meta = StreamObject()
    meta.set_data(XMP.encode("utf-8"))
    meta[NameObject("/Type")] = NameObject("/Metadata")
    meta[NameObject("/Subtype")] = NameObject("/XML")
    writer._root_object[NameObject("/Metadata")] = writer._add_object(meta)
    with open(path, "wb") as out:
        writer.write(out)
    return path


def make_encrypted_pdf(path: Path, tmp: Path) -> Path:
    writer = PdfWriter(clone_from=PdfReader(make_pdf(tmp / "base-for-encryption.pdf")))
    writer.encrypt(user_password="secret", owner_password="owner")
    with open(path, "wb") as out:
        writer.write(out)
    return path


def make_pe(path: Path) -> Path:
    header = bytearray(b"MZ" + b"\x90\x00" * 29)
    header += b"\x00" * (0x3C - len(header)) + (0x80).to_bytes(4, "little")
    header += b"\x00" * (0x80 - len(header)) + b"PE\x00\x00" + b"\x4c\x01\x03\x00" + b"\x00" * 200
    path.write_bytes(bytes(header))
    return path


def make_zip(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in members.items():
            z.writestr(name, text)
    return path


def make_ole(path: Path, stream: str, data: bytes) -> Path:
    """A minimal OLE2 compound file (CFB v3, 512-byte sectors) holding one stream of at least 4096 bytes."""
    data += b"\x00" * (-len(data) % 512)
    n, fats = len(data) // 512, 1
    while fats * 128 < fats + 1 + n:
        fats += 1
    end, free = 0xFFFFFFFE, 0xFFFFFFFF
    fat = [0xFFFFFFFD] * fats + [end] + [fats + 2 + i for i in range(n - 1)] + [end]
    fat += [free] * (fats * 128 - len(fat))
    header = struct.pack("<8s16sHHHHH6sIIIIIIIII", bytes.fromhex("D0CF11E0A1B11AE1"), bytes(16), 0x3E, 3,
                         0xFFFE, 9, 6, bytes(6), 0, fats, fats, 0, 4096, end, 0, end, 0)
    header += struct.pack("<109I", *(list(range(fats)) + [free] * (109 - fats)))

    def entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
        raw = name.encode("utf-16-le") + b"\x00\x00" if name else b""
        return struct.pack("<64sHBBIII16sIQQIQ", raw, len(raw), kind, 1, free, free, child, bytes(16), 0, 0, 0,
                           start, size)

    directory = entry("Root Entry", 5, 1, end, 0) + entry(stream, 2, free, fats + 1, len(data))
    directory += entry("", 0, free, 0, 0) * 2
    path.write_bytes(header + struct.pack(f"<{len(fat)}I", *fat) + directory + data)
    return path


def make_corpus(d: Path) -> dict[str, Path]:
    """One file of each kind the ingest meets, made by code."""
    rng = random.Random(42)
    (d / "notes.txt").write_text("住房保障档案 诚信申报\n" * 50, "utf-8")
    (d / "record.xml").write_text('<?xml version="1.0" encoding="UTF-8"?>\n<archive><item/></archive>\n', "utf-8")
    Image.new("RGB", (64, 48), (200, 30, 30)).save(d / "scan.tif", "TIFF")
    Image.frombytes("RGB", (64, 48), rng.randbytes(64 * 48 * 3)).save(d / "scan.jpg", "JPEG", quality=80)
    Image.new("RGB", (64, 48), (10, 200, 30)).save(d / "scan.png", "PNG")
    (d / "noise").write_bytes(rng.randbytes(5000))
    (d / "empty.txt").write_bytes(b"")
    return {
        "text": d / "notes.txt", "xml": d / "record.xml", "tiff": d / "scan.tif", "jpeg": d / "scan.jpg",
        "png": d / "scan.png", "noise": d / "noise", "empty": d / "empty.txt",
        "pdf": make_pdf(d / "form.pdf"), "pdfa": make_pdfa(d / "form-a.pdf", d),
        "encrypted": make_encrypted_pdf(d / "secret.pdf", d), "exe": make_pe(d / "setup.exe"),
        "ofd": make_zip(d / "notice.ofd", {"OFD.xml": OFD, "Doc_0/Document.xml": "<Document/>"}),
        "docm": make_zip(d / "macro.docm", {"[Content_Types].xml": DOCM_TYPES, "word/document.xml": "<w/>"}),
        "zip": make_zip(d / "bundle.zip", {"a.txt": "plain member"}),
        "doc": make_ole(d / "legacy.doc", "WordDocument", WORD97 + b"x" * 5000),
    }


EXPECTED = {  # kind: (puid, method, ambiguous)
    "text": ("x-fmt/111", "text", False),
    "xml": ("fmt/101", "signature", False),
    "tiff": ("fmt/353", "signature", False),
    "jpeg": ("fmt/43", "signature", False),
    "png": ("fmt/11", "signature", False),
    "pdf": ("fmt/17", "signature", False),
    "pdfa": ("fmt/354", "signature", False),
    "exe": ("x-fmt/411", "signature", False),
    "ofd": ("hsar-fmt/1", "container", False),
    "docm": ("fmt/523", "container", False),
    "zip": ("x-fmt/263", "signature", False),
    "noise": (None, "none", False),
    "doc": ("fmt/609", "container", False),  # a WordDocument stream and no CompObj: Word (generic)
}


@pytest.fixture(scope="module")
def identifier():
    with Identifier(timeout_seconds=20) as ident:
        yield ident


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def facts(identifier, corpus):
    return dict(zip(corpus, identifier.identify_many(list(corpus.values()), workers=2), strict=True))


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_puid_method_and_ambiguity(facts, kind):
    puid, method, ambiguous = EXPECTED[kind]
    fact = facts[kind]
    assert (fact.puid, fact.method, fact.ambiguous) == (puid, method, ambiguous), fact
    assert fact.tool == "fido" and fact.tool_version == "1.6.1"
    assert fact.basis
    if puid is not None:
        assert fact.candidates[0] == puid and fact.name


def test_extension_only_is_recorded_as_ambiguous_not_as_fact(facts):
    empty = facts["empty"]
    assert empty.method == "extension" and "empty file" in empty.basis


def test_ofd_gets_local_identifier(facts):
    ofd = facts["ofd"]
    assert ofd.name == "OFD (GB/T 33190-2016)" and ofd.version == "1.1" and ofd.mime == "application/ofd"
    assert "http://www.ofdspec.org/2016" in ofd.basis
    assert pronom_candidates(ofd) == {"x-fmt/263"}


def test_ole2_stream_read_is_bounded_and_agrees_with_fido(identifier, tmp_path):
    big = make_ole(tmp_path / "big.doc", "WordDocument", WORD97 + b"y" * (2 * 1024 * 1024))
    members = ole_members(big, {"WordDocument"}, 8192)
    assert len(members["WordDocument"]) == 8192 and members["WordDocument"].startswith(WORD97)
    fact = identifier.identify(big)
    assert (fact.puid, fact.method) == ("fmt/609", "container") and "Word (Generic)" in fact.basis


def test_zip_with_ofd_xml_in_wrong_namespace_is_just_zip(identifier, tmp_path):
    fake = make_zip(tmp_path / "fake.ofd", {"OFD.xml": "<OFD xmlns='urn:other'/>"})
    assert identifier.identify(fake).puid == "x-fmt/263"


def test_encrypted_pdf_is_flagged(facts):
    enc = facts["encrypted"]
    assert enc.encrypted and enc.mime == "application/pdf" and enc.puid is not None
    assert "/Encrypt" in enc.basis
    assert not facts["pdf"].encrypted and not facts["pdfa"].encrypted


def test_unreadable_file_is_a_fact_not_an_exception(identifier, tmp_path):
    fact = identifier.identify(tmp_path / "missing.pdf")
    assert fact.puid is None and fact.method == "none" and fact.basis.startswith("unreadable")


def test_identify_many_keeps_order_and_in_process_agrees(identifier, corpus, facts):
    for kind, path in corpus.items():
        assert identifier.identify_unlimited(path) == facts[kind]


# Files of the corpus where hsar deliberately differs from FIDO, by class of repository.formats.fidodiff
# (each class has its own test in test_identify_beyond_fido.py); every other file gets FIDO's PUIDs.
DIFFERS_FROM_FIDO = {"text": "plain-text", "doc": "container-files"}


def test_same_puids_as_fido_own_matching(identifier, corpus, facts):
    """Our matcher against Fido.identify_file (its own code, captured through handle_matches)."""
    assert set(DIFFERS_FROM_FIDO.values()) <= set(DIFFERENCES)
    for kind, path in corpus.items():
        reference = identifier.fido_reference(path)
        fact = facts[kind]
        if kind in DIFFERS_FROM_FIDO:
            assert pronom_candidates(fact) != {puid for puid, _ in reference}, kind
            continue
        assert pronom_candidates(fact) == {puid for puid, _ in reference}, kind
        fido_method = "signature" if fact.puid == OFD_PUID else fact.method  # fido sees OFD as a plain ZIP
        assert {how for _, how in reference} == ({fido_method} if reference else set()), kind


def test_same_puids_as_fido_command(corpus, facts, tmp_path):
    """The `fido` command over the same files (explicit signature files, container signatures on)."""
    fido = Path(sys.executable).parent / "fido"
    listing = tmp_path / "files.txt"
    listing.write_text("".join(f"{p}\n" for p in corpus.values()), "utf-8")
    done = subprocess.run([str(fido), "-q", "-matchprintf", r"OK\t%(info.puid)s\t%(info.filename)s\n",
                           "-input", str(listing)], capture_output=True, text=True, timeout=60, check=True)
    theirs: dict[str, set[str]] = {str(p): set() for p in corpus.values()}
    for line in done.stdout.splitlines():
        if line.startswith("OK\t"):
            _, puid, name = line.split("\t", 2)
            theirs[name].add(puid)
    for kind, path in corpus.items():
        same = pronom_candidates(facts[kind]) == theirs[str(path)]
        assert same != (kind in DIFFERS_FROM_FIDO), kind


def test_buffers_are_bounded(tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(b"A" * 10 + b"\x00" * 1_000_000 + b"Z" * 10)
    bof, eof, size = read_buffers(big, 4096)
    assert (len(bof), len(eof), size) == (4096, 4096, 1_000_020)
    assert bof.startswith(b"A" * 10) and eof.endswith(b"Z" * 10)
    small = tmp_path / "small.bin"
    small.write_bytes(b"abc")
    assert read_buffers(small, 4096) == (b"abc", b"abc", 3)


def test_large_pdf_identified_from_head_and_tail(identifier, tmp_path):
    pdf = make_pdf(tmp_path / "long.pdf").read_bytes()
    head, tail = pdf[:400], pdf[400:]
    padded = tmp_path / "padded.pdf"
    padded.write_bytes(head + b"%" + b"x" * 600_000 + b"\n" + tail)
    assert identifier.identify(padded).puid == "fmt/17"


@pytest.mark.parametrize(("regex", "anchored", "checks"), [
    (rb"(?s)\A%PDF-1\.4", True, ((b"%PDF-1.4", 0, 0, False),)),
    (rb"(?s)\A.{30}\[Content_Types\]\.xml", True, ((b"[Content_Types].xml", 30, 30, False),)),
    (rb"(?s)%%EOF.{0,1024}\Z", False, ((b"%%EOF", 0, 1024, True),)),
    (rb"(?s)\A.{0,3}\x3c\?xml", True, ((b"<?xml", 0, 3, False),)),
    (rb"(?s)\A(a|aa)+\Z", True, ()),
    (rb"(?i)\Aabc", True, ()),
])
def test_pattern_checks(regex, anchored, checks):
    assert pattern_checks(regex, anchored) == checks


def test_prefilter_is_sound_on_every_signature(identifier, corpus):
    """Whenever a FIDO signature matches one of our files, the conditions derived from it hold too."""
    buffers = [read_buffers(p, identifier.max_read_bytes)[:2] for p in corpus.values()]
    matches = 0
    for sig in identifier.table.signatures:
        for bof, eof in buffers:
            if all(p.matches(bof, eof) for p in sig.patterns):
                matches += 1
                assert all(check_holds(c, bof) or check_holds(c, eof) if on_eof is None
                           else check_holds(c, eof if on_eof else bof) for c, on_eof in sig.checks), sig.name
    assert matches >= len(buffers) // 2


EVIL = """<?xml version="1.0"?><formats version="0.3"><format><puid>hsar-test/1</puid><name>Pathological</name>
<signature><name>catastrophic backtracking</name><pattern><position>BOF</position>
<regex>(?s)\\A(a|aa)+\\Z</regex></pattern></signature></format></formats>"""


def test_time_limit_stops_a_pathological_regex(tmp_path, corpus):
    evil_sigs = tmp_path / "evil-formats.xml"
    evil_sigs.write_text(EVIL, "utf-8")
    assert re.compile(rb"(?s)\A(a|aa)+\Z")  # the regex is valid: it is only slow, exponentially
    evil = tmp_path / "evil.dat"
    evil.write_bytes(b"a" * 64 + b"!")
    with Identifier(format_files=(*FORMAT_FILES, str(evil_sigs)), timeout_seconds=1.0) as ident:
        start = time.monotonic()
        slow, fine = ident.identify_many([evil, corpus["pdf"]], workers=2)
        elapsed = time.monotonic() - start
        assert (slow.method, slow.basis, slow.puid) == ("none", "timeout", None) and slow.timed_out
        assert fine.puid == "fmt/17"
        assert elapsed < 5
        assert ident.identify(corpus["png"]).puid == "fmt/11"  # the killed worker was replaced


def test_default_identifier_is_cached(monkeypatch, tmp_path):
    monkeypatch.setenv("HSAR_HOME", str(tmp_path))
    identify_mod.default_identifier.cache_clear()
    try:
        first = identify_mod.default_identifier()
        assert identify_mod.default_identifier() is first
        assert first.max_read_bytes == 131072 and first.timeout_seconds == 10.0
        (tmp_path / "a.txt").write_text("hello", "utf-8")
        assert identify_mod.identify(tmp_path / "a.txt").puid == "x-fmt/111"
    finally:
        identify_mod.default_identifier().close()
        identify_mod.default_identifier.cache_clear()


def test_fact_round_trips_as_dict():
    fact = FormatFact("fmt/17", "PDF 1.3", "1.3", "application/pdf", "signature", "x", candidates=("fmt/17",))
    data = fact.to_dict()
    assert data["candidates"] == ["fmt/17"] and data["tool"] == "fido" and data["encrypted"] is False


def _work(item: str) -> str:
    if item == "sleep":
        time.sleep(30)
    if item == "die":
        os._exit(3)
    if item == "raise":
        raise ValueError("bad item")
    return item.upper()


def test_pool_kills_replaces_and_resends_queued_items():
    pool = TimeLimitedPool(_work, lambda item: f"timeout:{item}", lambda item, why: f"error:{item}:{why}", 0.5)
    with pool:
        start = time.monotonic()
        got = pool.map(["sleep", "a", "die", "b", "raise", "c"], workers=1)
        assert time.monotonic() - start < 10
    assert got[0] == "timeout:sleep" and got[1] == "A" and got[3] == "B" and got[5] == "C"
    assert got[2].startswith("error:die:worker died") and got[4] == "error:raise:ValueError: bad item"
    assert pool.size == 0


def test_signature_table_cache_is_keyed_checked_and_rebuilt(monkeypatch, tmp_path):
    """The prepared table is pickled per user; a corrupt or group-writable cache file is never used."""

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    built = Identifier()
    [cached] = list((tmp_path / "cache" / "hsar").glob("fido-table-*.pickle"))
    assert cached.stat().st_mode & 0o077 == 0
    again = Identifier()
    assert [s.name for s in again.table.signatures] == [s.name for s in built.table.signatures]
    assert again.table.formats == built.table.formats and again._engine is None  # FIDO itself not loaded
    (tmp_path / "a.txt").write_text("hello", "utf-8")
    assert again.identify(tmp_path / "a.txt").puid == built.identify(tmp_path / "a.txt").puid == "x-fmt/111"
    cached.write_bytes(b"not a pickle")
    rebuilt = Identifier()
    assert rebuilt._engine is not None and rebuilt.table.formats == built.table.formats
    assert cached.read_bytes() != b"not a pickle"  # rewritten
    assert Identifier()._engine is None  # and used again
    cached.chmod(0o666)
    assert Identifier()._engine is not None  # writable by others: never unpickled
    rebuilt.close()
    again.close()
    built.close()


ORPHANING = """
import os, signal, sys, time
sys.path.insert(0, sys.argv[1])
from repository.formats.pool import TimeLimitedPool
def slow(x):
    time.sleep(0.05)
    return x
pool = TimeLimitedPool(slow, lambda i: None, lambda i, d: None, timeout=10)
pool.map(list(range(4)), workers=2)  # the workers stay, idle, for the next map
with open(sys.argv[2], "w") as out:
    out.write(" ".join(str(w.process.pid) for w in pool._workers))
os.kill(os.getpid(), signal.SIGKILL)  # no close(), no None sent: as kill -9 of hsar ingest
"""


def test_identification_workers_stop_when_their_parent_is_killed(tmp_path):
    pids_file = tmp_path / "pids"
    root = str(Path(__file__).resolve().parents[2])
    done = subprocess.run([sys.executable, "-c", ORPHANING, root, str(pids_file)], stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    assert done.returncode == -9
    pids = [int(p) for p in pids_file.read_text().split()]
    assert len(pids) == 2
    deadline = time.monotonic() + 10
    alive = pids
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [p for p in pids if Path(f"/proc/{p}").exists() and "State:\tZ" not in _status(p)]
    assert alive == []  # orphaned workers noticed within a second or two and stopped


def _status(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return "State:\tZ"
