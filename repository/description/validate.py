"""Validation of descriptive metadata (``metadata/descriptive.xml``): safe parsing, XSD, ISO Schematron, rules.

Stages, every problem reported at once with a stable code (``data/codes.json``):

1. Safe parsing. A DOCTYPE, DTD or entity declaration is refused (MD003) before anything is resolved: the raw
   bytes are scanned first, and the parser itself never loads a DTD, never expands or fetches an entity and
   never touches the network, so XXE (``file:///etc/passwd``) and billion-laughs documents read nothing.
   Not well-formed is MD002 (with the line).
2. Root element ``{urn:hsar:archive:1}archive`` (MD005) and a known ``schemaVersion`` (MD006).
3. XML Schema 1.0 (``metadata/hsar-archive-1.0.xsd``): one MD004 per error, with its line.
4. ISO Schematron (``metadata/hsar-archive-1.0.sch``, lxml.isoschematron): SCH001-SCH010 and RUL007, each
   assert naming its code in ``@role``. The material-class, retention and sub-type tables are generated into
   the Schematron at load time from :mod:`repository.model`, their one copy.
5. Python rules (:mod:`repository.description.rules`: GB 11643 resident IDs, GB/T 2260 divisions, DA/T 22
   reference codes, item continuity), run on the parsed :class:`~repository.model.Archive`, which exists
   only when the document is XSD-valid.

The compiled XSD and Schematron are cached per process; a lock keeps their per-object error logs and reports
apart when threads validate at once.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache

from lxml import etree, isoschematron

from ..codes import Issue, Report, issue
from ..descriptive import from_element, safe_parser
from ..divisions import DivisionTree, default_tree
from ..model import CLASSES_BY_TYPE, RETENTION_LABELS, SUBTYPES, Archive
from ..privacy import mask_resident_id, mask_text
from ..resources import NAMESPACE, SCHEMA_VERSION, SCHEMATRON_PATH, XSD_PATH
from .rules import DESCRIPTIVE_PATH, rule_issues

SUPPORTED_VERSIONS = (SCHEMA_VERSION,)
_VALIDATOR_LOCK = threading.Lock()
SCH = "http://purl.oclc.org/dsdl/schematron"
SVRL = "http://purl.oclc.org/dsdl/svrl"
_FORBIDDEN = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_POSITION_SUFFIX = re.compile(r",\s*line \d+, column \d+$")
_ENTITY_ABUSE = re.compile(r"amplification|entity reference loop|entity loop", re.IGNORECASE)
_FORBIDDEN_BYTES = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


@dataclass(frozen=True)
class MetadataResult:
    """Issues found in one descriptive document, and the archive it describes when it is XSD-valid."""

    issues: tuple[Issue, ...]
    archive: Archive | None

    @property
    def valid(self) -> bool:
        return self.report.valid

    @property
    def report(self) -> Report:
        return Report(self.issues)

    def codes(self) -> set[str]:
        return self.report.codes()


# --- stage 1: safe parsing ----------------------------------------------------------------------------------
def _wide_decodings(data: bytes, window: int = 1 << 20) -> Iterator[str]:
    """``data`` read as UTF-16 and UTF-32 at every alignment, a window at a time (bounded memory); windows
    overlap so a declaration across a boundary is still seen."""
    overlap = 64
    for name, width in (("utf-16-le", 2), ("utf-16-be", 2), ("utf-32-le", 4), ("utf-32-be", 4)):
        for shift in range(width):
            for begin in range(shift, max(len(data), shift + 1), window):
                chunk = data[begin:begin + window + overlap]
                yield chunk[: len(chunk) - len(chunk) % width].decode(name, errors="replace")


def declares_dtd(data: bytes) -> bool:
    """Whether the raw bytes hold a markup declaration (DOCTYPE, ENTITY) in an ASCII-compatible encoding or
    in UTF-16/32. Other encodings are caught after parsing: the parser itself resolves nothing."""
    if _FORBIDDEN_BYTES.search(data):
        return True
    return b"\x00" in data and any(_FORBIDDEN.search(text) for text in _wide_decodings(data))


def _safe_parse(data: bytes, path: str) -> tuple[etree._ElementTree | None, list[Issue]]:
    if declares_dtd(data):
        return None, [issue("MD003", path)]
    try:
        doc = etree.ElementTree(etree.fromstring(data, safe_parser()))
    except etree.XMLSyntaxError as exc:
        message = _POSITION_SUFFIX.sub("", exc.msg or "")
        if _ENTITY_ABUSE.search(message):  # entity loops or amplification: declarations got past the scan
            return None, [issue("MD003", path)]
        line, column = exc.position if exc.position else (exc.lineno, 0)
        return None, [issue("MD002", path, detail=f"line {line}, column {column}: {message}")]
    docinfo = doc.docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None or docinfo.doctype:
        return None, [issue("MD003", path)]
    if any(isinstance(node, etree._Entity) for node in doc.iter()):
        return None, [issue("MD003", path)]
    return doc, []


def _root_issues(root: etree._Element, path: str) -> list[Issue]:
    expected = f"{{{NAMESPACE}}}archive"
    if root.tag != expected:
        return [issue("MD005", path, detail=f"expected {expected}, found {root.tag}")]
    version = root.get("schemaVersion")
    if version not in SUPPORTED_VERSIONS:
        return [issue("MD006", path, version=version if version is not None else "(none)")]
    return []


# --- stage 3: XSD -------------------------------------------------------------------------------------------
@cache
def xml_schema() -> etree.XMLSchema:
    """The compiled XSD, once per process."""
    return etree.XMLSchema(etree.parse(str(XSD_PATH), safe_parser()))


def xsd_issues(doc: etree._ElementTree, path: str = DESCRIPTIVE_PATH) -> list[Issue]:
    """One MD004 per XSD error, with its line."""
    schema = xml_schema()
    with _VALIDATOR_LOCK:  # the error log lives on the shared schema object
        if schema.validate(doc):
            return []
        errors = [(e.line, e.message) for e in schema.error_log]
    # libxml2 quotes the offending value: a resident ID, well-formed or not, must not appear in clear
    return [issue("MD004", path, detail=f"line {line}: {_mask_values(message)}") for line, message in errors]


_QUOTED_NUMBER = re.compile(r"'([0-9A-Za-z]*[0-9]{12,}[0-9A-Za-z]*)'")  # a quoted value holding 12+ digits


def _mask_values(message: str) -> str:
    return mask_text(_QUOTED_NUMBER.sub(lambda m: f"'{mask_resident_id(m.group(1))}'", message))


# --- stage 4: Schematron ------------------------------------------------------------------------------------
def _xpath_literal(value: str) -> str:
    if "'" not in value:
        return f"'{value}'"
    return f'"{value}"'


def _any_of(expr: str, values: Iterable[object]) -> str:
    return " or ".join(f"{expr} = {_xpath_literal(str(v))}" for v in values)


def _generated_rules() -> dict[str, list[tuple[str, str, str]]]:
    """Rules (context, test, message) generated from the model's tables, keyed by pattern id."""
    sch002 = [
        (f"/h:archive[h:type = '{kind.value}']/h:items/h:item", _any_of("@class", [c.value for c in classes]),
         f"item <sch:value-of select='@number'/>: class <sch:value-of select='@class'/> is not a {kind.value} class")
        for kind, classes in CLASSES_BY_TYPE.items()
    ]
    sch004 = [("/h:archive/h:retention", " or ".join(
        f"(@code = '{r.value}' and . = '{label}')" for r, label in RETENTION_LABELS.items()),
        "retention code <sch:value-of select='@code'/> with label <sch:value-of select='.'/>")]
    sch007 = [
        (f"/h:archive/h:items/h:item[@class = '{cls.value}']", _any_of("@subtype", subtypes),
         f"item <sch:value-of select='@number'/>: sub-type <sch:value-of select='@subtype'/> is not {cls.value}")
        for cls, subtypes in SUBTYPES.items()
    ]
    return {"SCH002": sch002, "SCH004": sch004, "SCH007": sch007}


def _fill(pattern: etree._Element, code: str, rules: list[tuple[str, str, str]]) -> None:
    for n, (context, test, message) in enumerate(rules, start=1):
        rule = etree.SubElement(pattern, f"{{{SCH}}}rule", context=context)
        assert_xml = (f'<sch:assert xmlns:sch="{SCH}" id="{code}-g{n}" role="{code}" test="{_attr(test)}">'
                      f"{message}</sch:assert>")
        rule.append(etree.fromstring(assert_xml))


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def schematron_document() -> etree._ElementTree:
    """``hsar-archive-1.0.sch`` with the generated patterns filled in from :mod:`repository.model`."""
    doc = etree.parse(str(SCHEMATRON_PATH), safe_parser())
    for code, rules in _generated_rules().items():
        pattern = doc.find(f"{{{SCH}}}pattern[@id='{code}']")
        if pattern is None:
            raise RuntimeError(f"{SCHEMATRON_PATH} lacks the placeholder pattern {code}")
        _fill(pattern, code, rules)
    return doc


@cache
def schematron() -> isoschematron.Schematron:
    """The compiled Schematron, once per process."""
    return isoschematron.Schematron(schematron_document(), store_report=True)


def schematron_issues(doc: etree._ElementTree, path: str = DESCRIPTIVE_PATH) -> list[Issue]:
    """One issue per failed assert, its code taken from the assert's ``@role``."""
    sch = schematron()
    with _VALIDATOR_LOCK:  # so does the SVRL report
        if sch.validate(doc):
            return []
        report = sch.validation_report
    found = []
    for failed in report.iterfind(f"{{{SVRL}}}failed-assert"):
        text = " ".join("".join(failed.itertext()).split())
        found.append(issue(failed.get("role"), path, detail=text))
    return found


# --- the whole check ----------------------------------------------------------------------------------------
def validate_descriptive(
    data: bytes, *, path: str = DESCRIPTIVE_PATH, tree: DivisionTree | None = None
) -> MetadataResult:
    """Validate one descriptive XML document; every issue at once, and the archive when it is XSD-valid."""
    doc, found = _safe_parse(data, path)
    if doc is None:
        return MetadataResult(tuple(found), None)
    found = _root_issues(doc.getroot(), path)
    if found:
        return MetadataResult(tuple(found), None)
    found = xsd_issues(doc, path)
    xsd_valid = not found
    found += schematron_issues(doc, path)
    archive = from_element(doc.getroot()) if xsd_valid else None
    if archive is not None:
        found += rule_issues(archive, tree or default_tree(), path=path)
    return MetadataResult(tuple(found), archive)
