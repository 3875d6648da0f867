"""Fixtures for the ingest pipeline tests: demo SIPs made once per session, a fresh home per test.

``hsar init`` costs most of a second (it makes a demo PKI), so one home is initialised per session and
copied for each test (every path in ``hsar.toml`` is relative to the home). ``ingested_home`` holds every
demo SIP ingested once, for the tests that only read.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from lxml import etree

from repository.home import Repository, init_home

SCHEMAS = Path(__file__).resolve().parents[2].parent / "shared" / "schemas"
_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2})?")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class Demo:
    """The session's demo data: SIP folders in ingest order, defects, and ``demo_manifest.json``."""

    root: Path
    entries: list[dict[str, Any]]

    def sips(self, kind: str | None = None) -> list[Path]:
        return [self.root / e["path"] for e in self.entries
                if e["kind"] != "defect" and (kind is None or e["kind"] == kind)]

    def defects(self) -> list[dict[str, Any]]:
        return [e for e in self.entries if e["kind"] == "defect"]

    def entry(self, path: Path) -> dict[str, Any]:
        return next(e for e in self.entries if self.root / e["path"] == path)

    def first_with_supplement(self) -> tuple[Path, Path]:
        """A household v1 SIP and the v2 supplement of the same archive."""
        supplement = next(e for e in self.entries if e["kind"] == "supplement" and e["version"] == 2
                          and e["archive"].startswith("hh-"))
        original = next(e for e in self.entries if e["archive"] == supplement["archive"] and e["version"] == 1
                        and e["kind"] != "defect")
        return self.root / original["path"], self.root / supplement["path"]


@pytest.fixture(scope="session")
def ih() -> ModuleType:
    """The helpers below, for test modules (conftest modules are not importable by name)."""
    return sys.modules[__name__]


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    from repository.demo.generate import write_demo_data

    root = tmp_path_factory.mktemp("demo") / "sips"
    write_demo_data(root, households=3, units=2, seed=7, defects=True)
    manifest = json.loads((root / "demo_manifest.json").read_text("utf-8"))
    return Demo(root, manifest["sips"])


@pytest.fixture(scope="session")
def home_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("template") / "home"
    init_home(home)
    return home


def copy_home(template: Path, target: Path) -> Path:
    shutil.copytree(template, target, symlinks=True)
    return target


@pytest.fixture
def home(home_template: Path, tmp_path: Path) -> Path:
    return copy_home(home_template, tmp_path / "home")


@pytest.fixture
def repo(home: Path) -> Iterator[Repository]:
    with Repository.open(home) as r:
        yield r


@pytest.fixture(scope="session")
def ingested_home(demo: Demo, home_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every demo SIP (supplements included) ingested once; tests must not change it."""
    from repository.ingest.pipeline import ingest

    home = copy_home(home_template, tmp_path_factory.mktemp("ingested") / "home")
    with Repository.open(home) as r:
        outcomes = ingest(r, demo.sips())
    assert [o.status for o in outcomes] == ["ingested"] * len(outcomes), [o.to_dict("en") for o in outcomes]
    return home


# ------------------------------------------------------------------------------------------------ helpers


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes (for 'nothing changed' assertions)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def staging_leftovers(home: Path) -> list[str]:
    """Entries in staging/ other than the ingest lock file."""
    return sorted(p.name for p in (home / "staging").iterdir() if p.name != ".ingest.lock")


def normalized_view(view: Any) -> Any:  # noqa: ANN401 - ArchiveView
    """``show()`` as a dict with timestamps and event ids blanked, events sorted (they differ between two
    clean runs)."""
    text = json.dumps(view.to_dict(), ensure_ascii=False, sort_keys=True, default=str)
    plain = json.loads(_UUID.sub("<uuid>", _STAMP.sub("<time>", text)))
    # events of one version share a time, so their order (time, then random id) is not reproducible
    plain["events"] = sorted(plain["events"], key=lambda e: json.dumps(e, ensure_ascii=False, sort_keys=True))
    return plain


def premis_schema() -> etree.XMLSchema:
    xsd = SCHEMAS / "premis-v3.xsd"
    if not xsd.is_file():
        pytest.skip(f"PREMIS schema not found at {xsd} (the shared reference folder ../shared is absent)")

    class LocalSchemas(etree.Resolver):
        def resolve(self, url, pubid, context):  # noqa: ANN001, ANN201 - lxml's signature
            name = url.rsplit("/", 1)[-1]
            return self.resolve_filename(str(SCHEMAS / name), context) if (SCHEMAS / name).is_file() else None

    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(LocalSchemas())
    return etree.XMLSchema(etree.parse(str(xsd), parser))


def openssl_verify(manifest: Path, signature: Path, ca: Path) -> subprocess.CompletedProcess[str]:
    command = ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", str(signature),
               "-content", str(manifest), "-CAfile", str(ca), "-out", "/dev/null"]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def assert_store_valid(repo: Repository) -> None:
    """ocfl-py accepts the storage root and every object in it, with no errors."""
    from repository.preservation.ocfl_validate import validate_with_ocfl_py

    root = repo.store.root
    assert validate_with_ocfl_py(root) == []
    for object_root in repo.store.iter_object_roots():
        assert validate_with_ocfl_py(object_root) == []
