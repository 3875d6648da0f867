"""Fixtures for the audit tests: AIPs built directly in an OCFL store, locked with a demo PKI, replicated.

An AIP version's state is what ingest writes (``data/...``, ``metadata/sip/...``, ``metadata/descriptive.xml``,
``metadata/premis.xml``, ``metadata/checks.json``) plus ``signature/manifest-sha512.txt`` and its detached CMS
signature from :func:`repository.preservation.signing.lock_version`. The session builds one home (two
archives, one with two versions, a replica) once; each test gets its own copy of it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from repository.config import load
from repository.home import Repository
from repository.preservation.ocfl import OcflStore, SourceFile
from repository.preservation.pki import create_demo_pki
from repository.preservation.premis import PremisObject, render_premis
from repository.preservation.signing import SIGNATURE_FILE, SIGNATURE_MANIFEST, load_signer, lock_version

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
ORG = "示范市住房保障中心"
HH1 = "urn:hsar:archive:HH-001"
HH2 = "urn:hsar:archive:HH-002"
PAYLOAD_V1 = {
    "data/application/申请书.pdf": b"%PDF-1.4 application " + bytes(range(256)) * 40,
    "data/review/审核表.pdf": b"%PDF-1.4 review form " + b"x" * 5000,
}
PAYLOAD_V2 = {"data/dynamic/年度复核.pdf": b"%PDF-1.4 annual review " + b"y" * 7000}


def _signer(keys_parent: Path):
    return load_signer(load(keys_parent, environ={}), environ={})


def write_toml(home: Path, replicas: tuple[str, ...] = ("replica1",), **sections: Mapping[str, object]) -> None:
    lines = ["[storage]", "replicas = [" + ", ".join(f'"{r}"' for r in replicas) + "]"]
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in values.items()]
    (home / "hsar.toml").write_text("\n".join(lines) + "\n", "utf-8")


class AipFactory:
    """Builds AIP versions into a store: ``add(store, staging, object_id, payload)``."""

    def __init__(self, signer, when: datetime = NOW - timedelta(days=30)) -> None:
        self.signer = signer
        self.when = when
        self.count = 0

    def state_files(self, object_id: str, payload: Mapping[str, bytes], puid: str = "fmt/354"
                    ) -> dict[str, bytes]:
        objects = [PremisObject(p, p, len(b), hashlib.sha512(b).hexdigest(), puid, "PDF/A-1b")
                   for p, b in sorted(payload.items())]
        files = dict(payload)
        files["metadata/sip/bagit.txt"] = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
        files["metadata/descriptive.xml"] = f"<archive id='{object_id}'/>".encode()
        files["metadata/premis.xml"] = render_premis(objects, [], [])
        files["metadata/checks.json"] = json.dumps({"stage": "GD", "result": "pass"}).encode()
        return files

    def add(self, store: OcflStore, staging: Path, object_id: str, payload: Mapping[str, bytes], *,
            signer=None, puid: str = "fmt/354", when: datetime | None = None):
        files = self.state_files(object_id, payload, puid)
        digests = {p: hashlib.sha512(b).hexdigest() for p, b in files.items()}
        moment = when or self.when + timedelta(hours=self.count)
        manifest, p7s = lock_version(digests, signer or self.signer, signing_time=moment)
        files[SIGNATURE_MANIFEST], files[SIGNATURE_FILE] = manifest, p7s
        self.count += 1
        work = staging.parent / f"aip-src-{self.count}"
        sources = {}
        for logical, data in files.items():
            path = work / logical
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            sources[logical] = SourceFile(path, hashlib.sha512(data).hexdigest(), len(data))
        result = store.add_version(object_id, sources, staging=staging, message="ingest",
                                   user=("hsar ingest", "archivist@example.org"), created=moment)
        shutil.rmtree(work)
        return result


@pytest.fixture(scope="session")
def pki_homes(tmp_path_factory) -> tuple[Path, Path]:
    """(a home parent holding the real demo PKI in keys/, one holding a look-alike rogue PKI)."""
    real, rogue = tmp_path_factory.mktemp("pki-real"), tmp_path_factory.mktemp("pki-rogue")
    create_demo_pki(real / "keys", organisation=ORG, now=NOW - timedelta(days=365))
    create_demo_pki(rogue / "keys", organisation=ORG, now=NOW - timedelta(days=365))
    return real, rogue


@pytest.fixture(scope="session")
def signers(pki_homes):
    return _signer(pki_homes[0]), _signer(pki_homes[1])


@pytest.fixture(scope="session")
def template(tmp_path_factory, pki_homes, signers) -> Path:
    """A home: HH-001 (v1, v2) and HH-002 (v1) in the primary store, replicated to ``replica1``."""
    from repository.preservation.replica import replicate

    home = tmp_path_factory.mktemp("template") / "home"
    home.mkdir()
    shutil.copytree(pki_homes[0] / "keys", home / "keys")
    write_toml(home)
    store = OcflStore.init(home / "storage")
    (home / "staging").mkdir()
    factory = AipFactory(signers[0])
    factory.add(store, home / "staging", HH1, PAYLOAD_V1)
    factory.add(store, home / "staging", HH1, {**PAYLOAD_V1, **PAYLOAD_V2})
    factory.add(store, home / "staging", HH2, {"data/application/申请书.pdf": b"%PDF-1.4 second archive"})
    with Repository.open(home) as repo:
        repo.create_catalog()  # as `hsar init` does: opening a home never creates its catalogue
        assert replicate(repo, now=NOW).ok
    return home


@pytest.fixture
def home(template, tmp_path) -> Path:
    target = tmp_path / "home"
    shutil.copytree(template, target, symlinks=True)
    return target


@pytest.fixture
def repo(home):
    with Repository.open(home) as opened:
        yield opened


@pytest.fixture
def factory(signers) -> AipFactory:
    return AipFactory(signers[0], when=NOW - timedelta(days=10))


@pytest.fixture
def toml_writer():
    """``write_toml(home, replicas=(...), section={key: value})`` for tests that reconfigure a home."""
    return write_toml


@pytest.fixture(autouse=True)
def hash_in_processes_from_the_first_byte(monkeypatch):
    """Every audit here hashes in worker processes (the default for any store of real size), however small
    the test's files: the thread path is covered by tests/test_fixity.py and a named audit test."""
    from repository import fixity

    monkeypatch.setattr(fixity, "PROCESS_MIN_BYTES", 0)
