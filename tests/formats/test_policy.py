"""Format policy: levels per PUID, the rules for everything else, and the FMT issue codes."""

from __future__ import annotations

import json
import random
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from pypdf import PdfReader, PdfWriter
from reportlab.pdfgen import canvas

from repository import config
from repository.codes import Severity, catalogue
from repository.errors import ConfigError
from repository.formats.identify import LOCAL_FORMATS, FormatFact, Identifier
from repository.formats.pdfsig import EmbeddedSignature
from repository.formats.policy import BUNDLED_POLICY, FormatPolicy, PolicyDecision, format_issues
from repository.formats.signatures import FIDO_CONF

PDFA = ["fmt/95", "fmt/354", "fmt/476", "fmt/477", "fmt/478", "fmt/479", "fmt/480", "fmt/481"]
PRESERVED = [*PDFA, "fmt/353", "fmt/41", "fmt/42", "fmt/43", "fmt/44", "fmt/112", "fmt/11", "fmt/12", "fmt/13",
             "fmt/101", "x-fmt/111", "hsar-fmt/1"]
ACCEPTABLE = ["fmt/14", "fmt/15", "fmt/16", "fmt/17", "fmt/18", "fmt/19", "fmt/20", "fmt/276"]
REFUSED = ["x-fmt/409", "x-fmt/410", "x-fmt/411", "fmt/899", "fmt/900", "fmt/523"]


def fact(puid: str | None, method: str = "signature", **kw: object) -> FormatFact:
    candidates = kw.pop("candidates", (puid,) if puid else ())
    return FormatFact(puid, kw.pop("name", "Some format"), "", "", method, kw.pop("basis", "test"),
                      candidates=candidates, **kw)  # type: ignore[arg-type]


def sig(status: str, field: str = "Seal1") -> EmbeddedSignature:
    flags = {"valid": (True, True, True, True), "untrusted": (True, True, False, False),
             "broken": (False, False, False, False), "unverifiable": (False, False, False, False)}[status]
    return EmbeddedSignature(field, *flags[:3], "张三", None, "ENTIRE_FILE", flags[3],
                             evaluated=status != "unverifiable", problem="cannot evaluate: SM2" if status ==
                             "unverifiable" else "")


@pytest.fixture(scope="module")
def policy() -> FormatPolicy:
    return FormatPolicy.load()


def test_every_puid_in_the_bundled_policy_exists_in_fido_signatures(policy):
    pronom = {f.findtext("puid") for f in ET.parse(FIDO_CONF / "formats-v109.xml").getroot().findall("format")}
    unknown = [p for p in policy.classes if p not in pronom and p not in LOCAL_FORMATS]
    assert unknown == []


@pytest.mark.parametrize(("puids", "level"), [(PRESERVED, "preservation"), (ACCEPTABLE, "acceptable"),
                                              (REFUSED, "refused")])
def test_levels_of_listed_formats(policy, puids, level):
    for puid in puids:
        assert policy.level_of(puid) == level, puid
        assert policy.classify(fact(puid)).level == level, puid


def test_executable_classes_are_marked(policy):
    for puid in ["x-fmt/411", "fmt/899", "fmt/523", "x-fmt/413"]:
        assert policy.is_executable(puid), puid
    assert not policy.is_executable("fmt/17") and not policy.is_executable(None)


def test_defaults_are_strict_and_documented(policy):
    raw = json.loads(BUNDLED_POLICY.read_text("utf-8"))
    assert raw["default"] == "refused" and "not listed" in raw["_comment"]
    decision = policy.classify(fact("fmt/999999"))
    assert (decision.level, decision.cause) == ("refused", "default")
    assert policy.classify(fact(None, "none", basis="no signature or extension matched")).level == "refused"


def test_rules_for_encryption_extension_only_and_ambiguity(policy):
    assert policy.classify(fact("fmt/354", encrypted=True)) == PolicyDecision(
        "refused", "encrypted or password-protected", "encrypted", "warn")
    text = fact("x-fmt/111", "extension", ambiguous=True, candidates=("x-fmt/111", "fmt/1085", "fmt/1591"))
    assert policy.classify(text).level == "preservation"  # plain text has no PRONOM signature
    fake_pdf = fact("fmt/14", "extension", ambiguous=True, candidates=("fmt/14", "fmt/15"))
    assert (policy.classify(fake_pdf).level, policy.classify(fake_pdf).cause) == ("refused", "extension_only")
    mixed = fact("fmt/17", ambiguous=True, candidates=("fmt/17", "x-fmt/411"))
    assert policy.classify(mixed).level == "refused"  # refused wins among candidates
    timed_out = FormatFact.unknown("timeout")
    assert policy.classify(timed_out).cause == "timeout"


def test_broken_signature_warns_or_refuses(policy):
    pdfa = fact("fmt/354")
    assert policy.classify(pdfa, [sig("broken")]).level == "preservation"
    strict = FormatPolicy.load(broken_signature="refuse")
    decision = strict.classify(pdfa, [sig("broken")])
    assert (decision.level, decision.cause) == ("refused", "signature")
    assert strict.classify(pdfa, [sig("unverifiable"), sig("untrusted", "Seal2")]).level == "preservation"
    issues = format_issues("data/a.pdf", pdfa, decision, [sig("broken")])
    assert [(i.code, i.severity) for i in issues] == [("FMT006", Severity.ERROR)]


@pytest.mark.parametrize(("the_fact", "sigs", "expected"), [
    (FormatFact.unknown("no signature or extension matched"), (), [("FMT001", Severity.ERROR)]),
    (fact("x-fmt/411", name="Windows Portable Executable"), (), [("FMT002", Severity.ERROR)]),
    (fact("fmt/17", encrypted=True), (), [("FMT003", Severity.ERROR)]),
    (fact("x-fmt/111", "extension", ambiguous=True, candidates=("x-fmt/111", "fmt/1085")), (),
     [("FMT004", Severity.WARNING)]),
    (fact("fmt/14", "extension", ambiguous=True), (), [("FMT002", Severity.ERROR), ("FMT004", Severity.WARNING)]),
    (FormatFact.unknown("timeout"), (), [("FMT005", Severity.ERROR)]),
    (fact("fmt/354"), (sig("broken"),), [("FMT006", Severity.WARNING)]),
    (fact("fmt/354"), (sig("unverifiable"),), [("FMT006", Severity.WARNING)]),
    (fact("fmt/354"), (sig("untrusted"),), [("FMT007", Severity.WARNING)]),
    (fact("fmt/354"), (sig("valid"),), []),
], ids=["FMT001", "FMT002", "FMT003", "FMT004", "FMT002+4", "FMT005", "FMT006", "FMT006u", "FMT007", "clean"])
def test_format_issues(policy, the_fact, sigs, expected):
    decision = policy.classify(the_fact, sigs)
    issues = format_issues("data/x", the_fact, decision, sigs, timeout_seconds=10.0)
    assert [(i.code, i.severity) for i in issues] == expected
    for i in issues:
        assert i.path == "data/x" and "?" not in i.message_in("en"), i.message_in("en")


def test_every_fmt_code_is_in_the_catalogue():
    ours = [f"FMT00{n}" for n in range(1, 8)]  # other modules may add later FMT codes
    fmt = {c: catalogue()[c] for c in ours}
    assert {info.stage for info in fmt.values()} == {"format"}
    assert {c for c, info in fmt.items() if info.severity is Severity.WARNING} == {"FMT004", "FMT006", "FMT007"}


def test_unidentified_file_is_a_warning_when_the_policy_accepts_it(tmp_path):
    lenient = tmp_path / "lenient.json"
    raw = json.loads(BUNDLED_POLICY.read_text("utf-8"))
    lenient.write_text(json.dumps({**raw, "default": "acceptable"}), "utf-8")
    unknown = FormatFact.unknown("no signature or extension matched")
    decision = FormatPolicy.load(lenient).classify(unknown)
    assert decision.level == "acceptable"
    assert [(i.code, i.severity) for i in format_issues("x", unknown, decision)] == [("FMT001", Severity.WARNING)]


@pytest.mark.parametrize("change", [
    {"default": "maybe"}, {"broken_signature": "ignore"}, {"classes": "none"},
    {"classes": [{"level": "refused", "reason": "a", "puids": {"fmt/1": ""}},
                 {"level": "acceptable", "reason": "b", "puids": {"fmt/1": ""}}]},
    {"classes": [{"level": "preservation", "puids": {"fmt/1": ""}}]},
])
def test_malformed_policy_is_a_configuration_error(tmp_path, change):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**json.loads(BUNDLED_POLICY.read_text("utf-8")), **change}), "utf-8")
    with pytest.raises(ConfigError):
        FormatPolicy.load(bad)


def test_unreadable_policy_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigError):
        FormatPolicy.load(tmp_path / "missing.json")
    (tmp_path / "broken.json").write_text("{", "utf-8")
    with pytest.raises(ConfigError):
        FormatPolicy.load(tmp_path / "broken.json")


def test_policy_from_config(tmp_path):
    custom = tmp_path / "policy.json"
    custom.write_text(BUNDLED_POLICY.read_text("utf-8"), "utf-8")
    (tmp_path / "hsar.toml").write_text('[formats]\npolicy = "policy.json"\nbroken_signature = "refuse"\n', "utf-8")
    loaded = FormatPolicy.from_config(config.load(tmp_path, environ={}))
    assert loaded.broken_signature == "refuse" and Path(loaded.source) == custom.resolve()
    bundled = FormatPolicy.from_config(config.load(tmp_path / "empty-home", environ={}))
    assert bundled.source == str(BUNDLED_POLICY) and bundled.broken_signature == "warn"


def _pdf(path: Path) -> Path:
    c = canvas.Canvas(str(path))
    c.drawString(72, 720, "Subsidy agreement")
    c.showPage()
    c.save()
    return path


def test_real_files_end_to_end(tmp_path, policy):
    """Identify real files, classify them, and check the codes a receiving archivist would see."""
    plain = _pdf(tmp_path / "agreement.pdf")
    writer = PdfWriter(clone_from=PdfReader(plain))
    writer.encrypt("secret")
    with open(tmp_path / "locked.pdf", "wb") as out:
        writer.write(out)
    (tmp_path / "garbage.pdf").write_bytes(random.Random(1).randbytes(3000))
    (tmp_path / "notes.txt").write_text("年度复核记录\n", "utf-8")
    names = ["agreement.pdf", "locked.pdf", "garbage.pdf", "notes.txt"]
    with Identifier(timeout_seconds=20) as ident:
        facts = ident.identify_many([tmp_path / n for n in names])
    got = {}
    for name, f in zip(names, facts, strict=True):
        decision = policy.classify(f)
        got[name] = (decision.level, sorted(i.code for i in format_issues(name, f, decision)))
    assert got == {
        "agreement.pdf": ("acceptable", []),
        "locked.pdf": ("refused", ["FMT003"]),
        "garbage.pdf": ("refused", ["FMT002", "FMT004"]),
        "notes.txt": ("preservation", []),  # plain UTF-8 text by its bytes (method "text"), not by its name
    }
