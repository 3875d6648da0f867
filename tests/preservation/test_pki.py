"""The demo PKI written by ``hsar init``: files, permissions, certificate profiles, refusal to overwrite."""

from __future__ import annotations

import shutil
import stat
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from repository.errors import SigningError
from repository.preservation.pki import DOCUMENT_SIGNING, FILE_NAMES, create_demo_pki

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
ORG = "示范市住房保障中心"


def _cert(path):
    return x509.load_pem_x509_certificate(path.read_bytes())


@pytest.fixture
def pki(tmp_path):
    return create_demo_pki(tmp_path / "keys", organisation=ORG, now=NOW)


def test_writes_every_file_with_private_keys_0600(pki):
    assert sorted(p.name for p in pki.keys_dir.iterdir()) == sorted(FILE_NAMES)
    for key in (pki.ca_key, pki.signer_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        serialization.load_pem_private_key(key.read_bytes(), password=None)
    assert pki.ca_cert.name == "ca.pem"


def test_readme_says_demo_in_chinese_and_english(pki):
    text = pki.readme.read_text("utf-8")
    assert "不得用于生产" in text and "NOT FOR PRODUCTION" in text
    assert "openssl cms -verify" in text and ORG in text


def test_ca_profile(pki):
    ca = _cert(pki.ca_cert)
    common_name = ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert common_name == "hsar 演示根证书 DEMO CA — not for production"
    assert ca.subject == ca.issuer
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign and not usage.digital_signature
    assert ca.not_valid_before_utc <= NOW < ca.not_valid_after_utc
    assert isinstance(ca.public_key(), ec.EllipticCurvePublicKey)


def test_signer_profile(pki):
    ca, signer = _cert(pki.ca_cert), _cert(pki.signer_cert)
    signer.verify_directly_issued_by(ca)
    assert "DEMO" in signer.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert signer.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == ORG
    assert not signer.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = signer.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.content_commitment
    assert not usage.value.key_cert_sign
    eku = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in eku and DOCUMENT_SIGNING in eku
    assert signer.not_valid_before_utc == NOW - timedelta(hours=1)
    key = serialization.load_pem_private_key(pki.signer_key.read_bytes(), password=None)
    assert key.public_key() == signer.public_key()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not on PATH")
def test_openssl_accepts_signer_for_smime_signing(pki):
    # The demo PKI is made now (not at NOW) so that openssl, which checks against the real clock, agrees.
    fresh = create_demo_pki(pki.keys_dir.parent / "fresh", organisation=ORG)
    result = subprocess.run(
        ["openssl", "verify", "-purpose", "smimesign", "-CAfile", str(fresh.ca_cert), str(fresh.signer_cert)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_refuses_to_overwrite_keys(pki):
    before = pki.signer_key.read_bytes()
    with pytest.raises(SigningError, match="refusing to overwrite"):
        create_demo_pki(pki.keys_dir, organisation=ORG, now=NOW)
    assert pki.signer_key.read_bytes() == before


def test_refuses_when_only_one_key_is_left(pki):
    for path in (pki.ca_cert, pki.ca_key, pki.signer_cert):
        path.unlink()
    with pytest.raises(SigningError, match="signer.key.pem"):
        create_demo_pki(pki.keys_dir, organisation=ORG, now=NOW)


def test_force_replaces_keys(pki):
    before = pki.signer_key.read_bytes()
    again = create_demo_pki(pki.keys_dir, organisation=ORG, now=NOW, force=True)
    assert again.signer_key.read_bytes() != before
    assert stat.S_IMODE(again.signer_key.stat().st_mode) == 0o600
    assert not list(pki.keys_dir.glob(".*.tmp"))


def test_unknown_algorithm_is_refused(tmp_path):
    with pytest.raises(SigningError, match="algorithm"):
        create_demo_pki(tmp_path / "keys", organisation=ORG, algorithm="dsa-1024")  # type: ignore[arg-type]
    assert not (tmp_path / "keys").exists()
