"""Fixtures of the OCR tests: those of tests/ingest/conftest.py (demo SIPs, homes, helpers), loaded under a name
of their own (conftest modules cannot be imported by name under --import-mode=importlib), and one home where a
demo household was ingested and then read by OCR once, for the tests that only look."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

_NAME = "hsar_ingest_fixtures_for_ocr"
_spec = importlib.util.spec_from_file_location(_NAME, Path(__file__).parents[1] / "ingest" / "conftest.py")
assert _spec is not None and _spec.loader is not None
_fixtures = importlib.util.module_from_spec(_spec)
sys.modules[_NAME] = _fixtures
_spec.loader.exec_module(_fixtures)
globals().update({name: value for name, value in vars(_fixtures).items() if not name.startswith("__")})

if shutil.which("tesseract") is None:
    pytest.skip("tesseract is not installed (make system-deps installs tesseract-ocr and tesseract-ocr-chi-sim)",
                allow_module_level=True)


@dataclass(frozen=True)
class OcrHome:
    home: Path
    archive_id: str
    original: Path  # the household's v1 SIP
    supplement: Path  # its v2 SIP
    truth: dict[str, list[str]]  # payload path -> text of each page, from demo_manifest.json
    hits_before: int  # hits of the scan-only phrase before OCR
    outcome: object  # the OcrOutcome of the run


#: a phrase that is only on the demo's housing proof scans (无房证明), never in a PDF or the description
SCAN_PHRASE = "住宅类房产信息"


@pytest.fixture(scope="module")
def ocr_home(demo, home_template: Path, tmp_path_factory: pytest.TempPathFactory) -> OcrHome:  # noqa: ANN001
    from repository.home import Repository
    from repository.ingest.ocr import ocr_archives
    from repository.ingest.pipeline import ingest
    from repository.search.results import SearchRequest
    from repository.services.search import search

    original, supplement = demo.first_with_supplement()
    entry = demo.entry(original)
    home = _fixtures.copy_home(home_template, tmp_path_factory.mktemp("ocr") / "home")
    with Repository.open(home) as repo:
        [outcome] = ingest(repo, [original])
        assert outcome.status == "ingested"
        before = search(repo, SearchRequest(query=f'"{SCAN_PHRASE}"')).total
        [done] = ocr_archives(repo, [entry["archive"]])
    return OcrHome(home, entry["archive"], original, supplement, entry["ocr_truth"], before, done)
