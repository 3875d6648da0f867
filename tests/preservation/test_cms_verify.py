"""The signature check without pyHanko's signer package: the path of each signer certificate validated once per
process (cached by certificate, intermediates, trust roots and time policy), never trusted outside the
validity of its path, and ``hsar audit`` started without ``pyhanko.sign`` or aiohttp."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from repository.config import load
from repository.preservation import cms_verify
from repository.preservation.pki import create_demo_pki
from repository.preservation.signing import lock_version, verify_detached

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
STATE = {"data/a.pdf": "a" * 128, "metadata/premis.xml": "b" * 128}


def _signer(tmp_path: Path, name: str):
    from repository.preservation.signing import load_signer

    home = tmp_path / name
    create_demo_pki(home / "keys", organisation="示范市住房保障中心", now=NOW)
    return load_signer(load(home, environ={}), environ={}), [home / "keys" / "ca.pem"]


@pytest.fixture(autouse=True)
def _empty_cache():
    cms_verify._PATHS.clear()


def test_one_path_validation_for_many_versions_of_one_signer(tmp_path):
    signer, roots = _signer(tmp_path, "home")
    before = cms_verify.path_validations
    for day in range(5):
        at = NOW + timedelta(days=day)
        manifest, p7s = lock_version({**STATE, "data/a.pdf": f"{day:x}" * 128}, signer, signing_time=at)
        assert verify_detached(manifest, p7s, roots, at=at).bottom_line
    assert cms_verify.path_validations - before == 1


def test_cached_path_is_not_trusted_outside_its_validity(tmp_path):
    signer, roots = _signer(tmp_path, "home")
    manifest, p7s = lock_version(STATE, signer, signing_time=NOW)
    assert verify_detached(manifest, p7s, roots, at=NOW).bottom_line
    late = verify_detached(manifest, p7s, roots, at=NOW + timedelta(days=365 * 40))
    assert not late.trusted and "not trusted" in late.reason.render("en")
    early = verify_detached(manifest, p7s, roots, at=NOW - timedelta(days=365 * 5))
    assert not early.trusted


def test_cache_is_keyed_by_certificate_and_trust_roots(tmp_path):
    signer, roots = _signer(tmp_path, "home")
    rogue, rogue_roots = _signer(tmp_path, "rogue")  # the same names, another key
    manifest, p7s = lock_version(STATE, signer, signing_time=NOW)
    assert verify_detached(manifest, p7s, roots, at=NOW).bottom_line
    forged, forged_p7s = lock_version(STATE, rogue, signing_time=NOW)
    assert not verify_detached(forged, forged_p7s, roots, at=NOW).trusted
    assert not verify_detached(manifest, p7s, rogue_roots, at=NOW).trusted
    assert not verify_detached(manifest, p7s, [], at=NOW).trusted


def test_audit_start_imports_no_signer_stack():
    code = ("import sys, repository.audit.run, repository.preservation.signing, repository.preservation.cms_verify;"
            "print(sorted(m for m in ('aiohttp', 'pyhanko.sign', 'pyhanko.sign.signers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "[]", out.stdout


def test_a_signature_over_sha1_is_not_trusted(tmp_path):
    from repository.preservation.signing import sign_detached

    signer, roots = _signer(tmp_path, "home")
    data = b"manifest bytes\n"
    status = verify_detached(data, sign_detached(data, signer, signing_time=NOW, digest_algorithm="sha1"), roots, at=NOW)
    assert status.intact and not status.trusted and status.reason is not None and "weak digest algorithm sha1" in status.reason.render("en")
