"""Descriptive-metadata validation: every example instance gives exactly its codes; XXE and entity bombs are
refused unread; XSD, Schematron and Python rules all report at once; the sub-type table has one copy."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from lxml import etree

import repository.description.validate as md
from repository.codes import catalogue
from repository.description.validate import (
    declares_dtd,
    schematron,
    schematron_document,
    validate_descriptive,
    xml_schema,
)
from repository.divisions import DivisionTree
from repository.model import (
    CLASSES_BY_TYPE,
    INCOME_BANDS,
    MEMBER_RELATIONS,
    RETENTION_LABELS,
    SECURITY_TYPES,
    SUBTYPES,
    MaterialClass,
    Retention,
    Status,
)
from repository.resources import METADATA_DIR, XSD_PATH

EXAMPLES = METADATA_DIR / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.xml"))
OWN_CODES = {"MD001", "MD002", "MD003", "MD004", "MD005", "MD006", *(f"SCH{n:03d}" for n in range(1, 11)),
             "RUL001", "RUL002", "RUL003", "RUL005", "RUL006", "RUL007"}
XS = "{http://www.w3.org/2001/XMLSchema}"
SCH = "{http://purl.oclc.org/dsdl/schematron}"


def expected_codes(path: Path) -> set[str]:
    """``*-valid.xml`` -> nothing; ``invalid-CODE[-what].xml`` -> {CODE}."""
    if path.name.endswith("-valid.xml") and not path.name.startswith("invalid-"):
        return set()
    return {path.stem.removeprefix("invalid-").split("-")[0]}


def household_xml() -> str:
    return (EXAMPLES / "household-valid.xml").read_text("utf-8")


def codes_of(data: bytes | str, **kwargs) -> list[str]:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return [i.code for i in validate_descriptive(raw, **kwargs).issues]


# --- the example instances ----------------------------------------------------------------------------------
@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.name for p in EXAMPLE_FILES])
def test_example_gives_exactly_its_codes(path):
    result = validate_descriptive(path.read_bytes())
    assert result.codes() == expected_codes(path), [i.message for i in result.issues]
    assert all(i.path == "metadata/descriptive.xml" for i in result.issues)
    xsd_valid = not (result.codes() & {"MD002", "MD003", "MD004", "MD005", "MD006"})
    assert (result.archive is not None) is xsd_valid


def test_every_owned_code_has_an_invalid_example():
    covered = set().union(*(expected_codes(p) for p in EXAMPLE_FILES))
    assert OWN_CODES - {"MD001"} <= covered  # MD001 (file missing) belongs to the bag stage, see validate.py
    assert covered <= set(catalogue())
    assert {"household-valid.xml", "unit-valid.xml", "supplement-valid.xml"} <= {p.name for p in EXAMPLE_FILES}


def test_valid_examples_are_valid_and_warnings_do_not_invalidate():
    for name in ("household-valid.xml", "unit-valid.xml", "supplement-valid.xml"):
        assert validate_descriptive((EXAMPLES / name).read_bytes()).valid
    result = validate_descriptive((EXAMPLES / "invalid-RUL006.xml").read_bytes())
    assert result.valid and result.report.warnings and result.archive is not None


# --- safe parsing -------------------------------------------------------------------------------------------
@pytest.fixture
def secret(tmp_path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text("TOPSECRET-7f3a", "utf-8")
    return path


def _xxe(target: str) -> str:
    doc = household_xml().replace("<title>王建国户住房保障档案</title>", "<title>&xxe;</title>")
    head, rest = doc.split("\n", 1)
    return f'{head}\n<!DOCTYPE archive [\n  <!ENTITY xxe SYSTEM "{target}">\n]>\n{rest}'


def _assert_refused(data: bytes, secret_text: str | None = None) -> None:
    result = validate_descriptive(data)
    assert result.codes() == {"MD003"}
    assert result.archive is None
    if secret_text:
        assert all(secret_text not in i.message for i in result.issues)


def test_xxe_is_refused_and_never_read(secret):
    _assert_refused(_xxe(secret.as_uri()).encode("utf-8"), "TOPSECRET")
    _assert_refused((EXAMPLES / "invalid-MD003-xxe.xml").read_bytes())


def test_xxe_is_harmless_even_without_the_byte_scan(secret, monkeypatch):
    """Defence in depth: the parser alone resolves nothing and the DOCTYPE is still seen."""
    monkeypatch.setattr(md, "declares_dtd", lambda data: False)
    _assert_refused(_xxe(secret.as_uri()).encode("utf-8"), "TOPSECRET")
    parameter_entity = (f'<?xml version="1.0"?>\n<!DOCTYPE a [<!ENTITY % p SYSTEM "{secret.as_uri()}"> %p;]>\n'
                        "<a/>").encode()
    _assert_refused(parameter_entity, "TOPSECRET")
    _assert_refused(f'<!DOCTYPE archive SYSTEM "{secret.as_uri()}"><archive/>'.encode(), "TOPSECRET")
    tree = etree.fromstring(_xxe(secret.as_uri()).encode("utf-8"), md.safe_parser())
    assert b"TOPSECRET" not in etree.tostring(tree)


def test_billion_laughs_is_refused_quickly(monkeypatch):
    data = (EXAMPLES / "invalid-MD003-billion-laughs.xml").read_bytes()
    started = time.monotonic()
    _assert_refused(data)
    monkeypatch.setattr(md, "declares_dtd", lambda data: False)
    _assert_refused(data)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_doctype_in_wide_encodings_is_refused(secret, encoding):
    text = _xxe(secret.as_uri()).replace('encoding="UTF-8"', f'encoding="{encoding.upper()}"')
    data = text.encode(encoding)
    assert declares_dtd(data)
    _assert_refused(data, "TOPSECRET")


def test_doctype_in_a_broken_document_is_still_md003():
    _assert_refused(b'<!DOCTYPE a [<!ENTITY x "y">]><a>&x;<b></a>')


def test_not_well_formed_gives_md002_with_the_line():
    result = validate_descriptive((EXAMPLES / "invalid-MD002.xml").read_bytes())
    assert result.codes() == {"MD002"}
    assert "line 51" in result.issues[0].message
    assert codes_of(b"") == ["MD002"]
    assert codes_of(b"\xff\xfe\x00garbage") == ["MD002"]
    assert codes_of(b"<a>&undefined;</a>") == ["MD002"]


def test_wrong_root_and_version():
    assert codes_of(b'<archive schemaVersion="1.0"/>') == ["MD005"]
    assert codes_of(b'<dossier xmlns="urn:hsar:archive:1" schemaVersion="1.0"/>') == ["MD005"]
    result = validate_descriptive(household_xml().replace(' schemaVersion="1.0"', "").encode("utf-8"))
    assert result.codes() == {"MD006"} and "(none)" in result.issues[0].message


# --- XSD, Schematron and rules together ---------------------------------------------------------------------
def test_one_md004_per_schema_error_with_line_numbers():
    doc = household_xml().replace("<access>restricted</access>", "<access>secret</access>")
    doc = doc.replace("<pages>2</pages>", "<pages>two</pages>")
    result = validate_descriptive(doc.encode("utf-8"), path="sip/metadata/descriptive.xml")
    md004 = [i for i in result.issues if i.code == "MD004"]
    assert len(md004) == 2
    assert all("line " in i.message and i.path == "sip/metadata/descriptive.xml" for i in md004)
    assert result.archive is None


def test_dates_with_time_zones_are_schema_errors():
    doc = household_xml().replace("<start>2021-03-02</start>", "<start>2021-03-02+08:00</start>")
    assert codes_of(doc) == ["MD004"]


def test_schematron_still_reports_on_a_schema_invalid_document():
    doc = household_xml().replace("<access>restricted</access>", "<access>secret</access>")
    doc = doc.replace('<retention code="Y">永久</retention>', '<retention code="Y">短期</retention>')
    result = validate_descriptive(doc.encode("utf-8"))
    assert result.codes() == {"MD004", "SCH004"}
    assert result.archive is None  # Python rules need a parsed archive


def test_everything_is_reported_at_once():
    doc = household_xml()
    doc = doc.replace('<retention code="Y">永久</retention>', '<retention code="Y">长期</retention>')
    doc = doc.replace('item="2" pageStart="3" pageEnd="3"', 'item="2" pageStart="3" pageEnd="4"')
    doc = doc.replace("110105195205150025", "110105195205150022")
    doc = doc.replace('<item number="2" ', '<item number="5" ')
    doc = doc.replace("<division>320102002</division>", "<division>320205001</division>")
    result = validate_descriptive(doc.encode("utf-8"))
    assert result.codes() == {"SCH004", "SCH005", "RUL001", "RUL003", "RUL006"}
    assert result.archive is not None and not result.valid


def test_the_division_tree_is_the_callers(tmp_path):
    path = tmp_path / "d.json"
    path.write_text(json.dumps([{"code": "110000", "name": "北京市", "parent": None}]), "utf-8")
    assert codes_of(household_xml(), tree=DivisionTree.load(path)) == ["RUL003"]


def test_supplement_rules():
    supplement = (EXAMPLES / "supplement-valid.xml").read_text("utf-8")
    without = supplement.replace(
        '  <supplementOf archive="hh-320102-2021-0001" originalVolume="2021-0001" reason="2022 年度复核"/>\n', "")
    assert codes_of(without) == ["RUL007"]
    # as a plain package it lacks <household>, must not name an archive, and items 1-2 are missing
    assert codes_of(supplement.replace("supplement-sip", "household-sip")) == ["SCH001", "RUL007", "RUL006"]
    unit = (EXAMPLES / "unit-valid.xml").read_text("utf-8")
    unit_block = unit[unit.index("  <unit>"):unit.index("  <items>")]
    carrying_unit = supplement.replace("  <items>", unit_block + "  <items>")
    assert codes_of(carrying_unit) == ["SCH001"]


def test_relation_end_before_start_and_archive_dates():
    doc = household_xml().replace('start="2021-07-01"/>', 'start="2021-07-01" end="2021-06-30"/>')
    assert codes_of(doc) == ["SCH006"]
    doc = household_xml().replace("<dates><start>2021-03-02</start></dates>",
                                  "<dates><start>2021-03-02</start><end>2021-03-01</end></dates>")
    assert codes_of(doc) == ["SCH006"]


def test_page_count_must_match_the_range():
    doc = household_xml().replace('item="1" pageStart="1" pageEnd="2"', 'item="1" pageStart="1" pageEnd="3"')
    result = validate_descriptive(doc.encode("utf-8"))
    assert result.codes() == {"SCH005"} and "3 pages" not in result.issues[0].message


def test_reference_code_must_agree_with_fonds_and_retention():
    assert codes_of(household_xml().replace("<fonds>J001</fonds>", "<fonds>J002</fonds>")) == ["SCH008"]
    doc = household_xml().replace("J001-ZF·2021-Y-0001", "J001-ZF·2021-D30-0001")
    assert codes_of(doc) == ["SCH008"]


# --- schema files and the one copy of each table ------------------------------------------------------------
def _enumeration(type_name: str) -> list[str]:
    xsd = etree.parse(str(XSD_PATH))
    return xsd.xpath(f"//xs:simpleType[@name='{type_name}']//xs:enumeration/@value",
                     namespaces={"xs": XS.strip("{}")})


def test_xsd_subtype_enumeration_is_the_union_of_model_subtypes():
    values = _enumeration("ItemSubtype")
    assert len(values) == len(set(values))
    assert set(values) == {s for subtypes in SUBTYPES.values() for s in subtypes}


def test_xsd_enumerations_match_the_model():
    assert set(_enumeration("MaterialClass")) == {c.value for c in MaterialClass}
    assert set(_enumeration("RetentionCode")) == {r.value for r in Retention}
    assert set(_enumeration("RetentionLabel")) == set(RETENTION_LABELS.values())
    assert set(_enumeration("StatusKind")) == {s.value for s in Status}
    assert set(_enumeration("SecurityType")) == set(SECURITY_TYPES)
    assert set(_enumeration("IncomeBand")) == set(INCOME_BANDS)
    assert set(_enumeration("Relation")) == set(MEMBER_RELATIONS)
    assert set(CLASSES_BY_TYPE) and all(set(v) <= set(MaterialClass) for v in CLASSES_BY_TYPE.values())


def test_generated_schematron_comes_from_the_model(monkeypatch):
    doc = schematron_document()
    sch007 = doc.find(f"{SCH}pattern[@id='SCH007']")
    assert len(sch007.findall(f"{SCH}rule")) == len(SUBTYPES)
    monkeypatch.setitem(SUBTYPES, MaterialClass.REVIEW, SUBTYPES[MaterialClass.REVIEW] + ("复审意见",))
    regenerated = etree.tostring(schematron_document(), encoding="unicode")
    assert "复审意见" in regenerated


def test_every_assert_names_a_known_code_and_has_a_unique_id():
    asserts = schematron_document().iter(f"{SCH}assert", f"{SCH}report")
    roles, ids = [], []
    for a in asserts:
        roles.append(a.get("role"))
        ids.append(a.get("id"))
    assert set(roles) <= set(catalogue())
    assert {r[:3] for r in roles} <= {"SCH", "RUL"}
    assert {f"SCH{n:03d}" for n in range(1, 11)} | {"RUL007"} <= set(roles)
    assert len(ids) == len(set(ids)) and None not in ids


def test_compiled_schemas_are_cached():
    assert xml_schema() is xml_schema()
    assert schematron() is schematron()


def test_byte_scan_is_windowed_and_quiet_on_clean_documents():
    for path in EXAMPLE_FILES:
        assert declares_dtd(path.read_bytes()) is path.name.startswith("invalid-MD003"), path.name
    assert not declares_dtd(household_xml().encode("utf-16"))
    # a DOCTYPE straddling a window boundary, deep behind a long comment, is still found
    for pad in range(0, 8):
        data = ("<!--" + "x" * (4090 + pad) + "--><!DOCTYPE a>").encode("utf-16-le")
        assert any("<!DOCTYPE" in text for text in md._wide_decodings(data, window=4096)), pad


def test_schema_errors_never_show_a_resident_id_in_clear() -> None:
    from lxml import etree

    from repository.description.validate import xsd_issues

    text = (EXAMPLES / "household-valid.xml").read_text("utf-8")
    for bad in ("1101051949123100299", "11010519491231002Y", "110105194912310"):  # too long, bad check, short
        doc = etree.ElementTree(etree.fromstring(text.replace("11010519491231002X", bad).encode("utf-8")))
        details = " ".join(dict(i.params)["detail"] for i in xsd_issues(doc) if i.code == "MD004")
        assert details and bad not in details and bad[:6] in details, details
