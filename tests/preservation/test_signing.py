"""Version locks: SHA-512 manifest + detached CMS signature, made and checked with pyHanko (and openssl)."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from freezegun import freeze_time

from repository.config import load
from repository.errors import SigningError
from repository.messages import Text
from repository.preservation.pki import create_demo_pki
from repository.preservation.signing import (
    SIGNATURE_FILE,
    SIGNATURE_MANIFEST,
    check_lock,
    load_signer,
    lock_version,
    parse_manifest,
    render_manifest,
    sign_detached,
    verify_detached,
)

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
SIGNED_AT = NOW + timedelta(days=10)
ORG = "示范市住房保障中心"
needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not on PATH")


def _sha(text: str) -> str:
    return hashlib.sha512(text.encode()).hexdigest()


STATE = {
    "data/application/申请书.pdf": _sha("application"),
    "data/review/审核表.pdf": _sha("review"),
    "metadata/archive.xml": _sha("archive"),
    "metadata/premis.xml": _sha("premis"),
}


def _home(tmp_path, name="home", now=NOW, **toml):
    """A repository home with a demo PKI under keys/ and an optional [signing] section."""
    home = tmp_path / name
    create_demo_pki(home / "keys", organisation=ORG, now=now)
    if toml:
        lines = ["[signing]"] + [f'{k} = "{v}"' for k, v in toml.items()]
        (home / "hsar.toml").write_text("\n".join(lines) + "\n", "utf-8")
    return home


@pytest.fixture
def home(tmp_path):
    return _home(tmp_path)


@pytest.fixture
def signer(home):
    return load_signer(load(home, environ={}), environ={})


@pytest.fixture
def roots(home):
    return [home / "keys" / "ca.pem"]


@pytest.fixture
def rogue(tmp_path):
    """An attacker's signer from a self-made CA with exactly the same names as the real one."""
    return load_signer(load(_home(tmp_path, "rogue"), environ={}), environ={})


def _lock(signer, state=STATE):
    return lock_version(state, signer, signing_time=SIGNED_AT)


# --------------------------------------------------------------------------------------------- sign / verify


def test_sign_and_verify(signer, roots):
    manifest, p7s = _lock(signer)
    status = verify_detached(manifest, p7s, roots, at=SIGNED_AT)
    assert status.bottom_line and status.intact and status.valid and status.trusted
    assert status.reason is None
    assert status.signing_time == SIGNED_AT
    assert status.digest_algorithm == "sha512"
    assert "DEMO signer" in status.signer_subject
    cert = x509.load_pem_x509_certificate((roots[0].parent / "signer.cert.pem").read_bytes())
    assert status.signer_fingerprint == hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def test_signature_is_detached_der_with_chain(signer, roots):
    from asn1crypto import cms

    _, p7s = _lock(signer)
    signed_data = cms.ContentInfo.load(p7s)["content"]
    assert signed_data["encap_content_info"]["content"].native is None
    subjects = {c.chosen.subject.human_friendly for c in signed_data["certificates"]}
    assert any("DEMO CA" in s for s in subjects) and any("DEMO signer" in s for s in subjects)
    attrs = {a["type"].native for a in signed_data["signer_infos"][0]["signed_attrs"]}
    assert {"signing_time", "message_digest", "signing_certificate_v2"} <= attrs


@needs_openssl
@pytest.mark.parametrize("algorithm", ["ecdsa-p256", "rsa-3072"])
def test_openssl_cms_verify(tmp_path, algorithm):
    keys = create_demo_pki(tmp_path / "home" / "keys", organisation=ORG, algorithm=algorithm)  # real clock
    signer = load_signer(load(tmp_path / "home", environ={}), environ={})
    if algorithm == "rsa-3072":
        key = serialization.load_pem_private_key(keys.signer_key.read_bytes(), None)
        assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 3072
    manifest, p7s = lock_version(STATE, signer)
    (tmp_path / "manifest-sha512.txt").write_bytes(manifest)
    (tmp_path / "manifest-sha512.txt.p7s").write_bytes(p7s)
    command = ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", "manifest-sha512.txt.p7s",
               "-content", "manifest-sha512.txt", "-CAfile", str(keys.ca_cert), "-out", "/dev/null"]  # fmt: skip
    ok = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    (tmp_path / "manifest-sha512.txt").write_bytes(manifest.replace(b"data/", b"date/", 1))
    tampered = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert tampered.returncode != 0


def test_tampered_manifest_is_not_intact(signer, roots):
    manifest, p7s = _lock(signer)
    forged = manifest.replace(STATE["metadata/archive.xml"].encode(), _sha("forged").encode())
    status = verify_detached(forged, p7s, roots, at=SIGNED_AT)
    assert not status.intact and not status.bottom_line
    assert "does not match" in status.reason.render("en")


def test_signature_of_another_version_is_not_intact(signer, roots):
    _, old_p7s = _lock(signer, {"data/a.pdf": _sha("v1")})
    manifest, _ = _lock(signer)
    assert not verify_detached(manifest, old_p7s, roots, at=SIGNED_AT).intact


def test_untrusted_ca_is_not_trusted(rogue, roots):
    manifest, p7s = _lock(rogue)
    status = verify_detached(manifest, p7s, roots, at=SIGNED_AT)
    assert status.intact and status.valid
    assert not status.trusted and not status.bottom_line
    assert "not trusted" in status.reason.render("en")


def test_empty_trust_store_trusts_nothing(signer):
    manifest, p7s = _lock(signer)
    status = verify_detached(manifest, p7s, [], at=SIGNED_AT)
    assert status.intact and not status.trusted


def test_expired_signer_is_not_trusted(signer, roots):
    manifest, p7s = _lock(signer)
    assert not verify_detached(manifest, p7s, roots, at=NOW + timedelta(days=365 * 40)).trusted


@pytest.mark.parametrize(
    "mangle",
    [
        lambda p7s: b"",
        lambda p7s: b"garbage",
        lambda p7s: bytes(range(256)) * 4,
        lambda p7s: p7s[: len(p7s) // 2],
        lambda p7s: p7s + b"\x00",
        lambda p7s: p7s[:-1] + bytes([p7s[-1] ^ 0xFF]),
        lambda p7s: p7s.replace(b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02", b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01", 1),
    ],
    ids=["empty", "text", "noise", "truncated", "trailing-byte", "flipped-last-byte", "not-signed-data"],
)
def test_malformed_signature_gives_a_status(signer, roots, mangle):
    manifest, p7s = _lock(signer)
    status = verify_detached(manifest, mangle(p7s), roots, at=SIGNED_AT)
    assert not status.bottom_line
    assert status.reason


def test_certificate_as_signature_is_malformed(signer, roots):
    manifest, _ = _lock(signer)
    der = x509.load_pem_x509_certificate(roots[0].read_bytes()).public_bytes(serialization.Encoding.DER)
    status = verify_detached(manifest, der, roots, at=SIGNED_AT)
    assert not status.bottom_line and status.reason.key == "signature.malformed"
    assert status.reason.render("en").startswith("malformed signature") and str(status.reason).startswith("签名格式错误")


def test_missing_trust_root_is_an_error(signer, tmp_path):
    manifest, p7s = _lock(signer)
    with pytest.raises(SigningError, match="trust root file not found"):
        verify_detached(manifest, p7s, [tmp_path / "nope.pem"])


def test_works_under_frozen_time_and_inside_an_event_loop(signer, roots):
    with freeze_time("2025-06-01 12:00:00"):
        manifest, p7s = lock_version(STATE, signer)
        status = check_lock(STATE, manifest, p7s, roots)
    assert status.bottom_line
    assert status.signature.signing_time == datetime(2025, 6, 1, 12, tzinfo=UTC)

    async def inside_loop():
        return sign_detached(b"data", signer, signing_time=SIGNED_AT)

    assert verify_detached(b"data", asyncio.run(inside_loop()), roots, at=SIGNED_AT).bottom_line


# --------------------------------------------------------------------------------------------- loading keys


def test_pkcs12_with_passphrase(home, roots):
    keys = home / "keys"
    key = serialization.load_pem_private_key((keys / "signer.key.pem").read_bytes(), None)
    cert = x509.load_pem_x509_certificate((keys / "signer.cert.pem").read_bytes())
    ca = x509.load_pem_x509_certificate((keys / "ca.pem").read_bytes())
    blob = pkcs12.serialize_key_and_certificates(
        b"signer", key, cert, [ca], serialization.BestAvailableEncryption(b"\xe5\xaf\x86\xe7\xa0\x81-secret")
    )
    (keys / "institution.p12").write_bytes(blob)
    (home / "hsar.toml").write_text(
        '[signing]\nkey = "keys/institution.p12"\nchain = []\npassphrase_env = "HSAR_TEST_P12"\n', "utf-8"
    )
    cfg = load(home, environ={})
    signer = load_signer(cfg, environ={"HSAR_TEST_P12": "密码-secret"})
    manifest, p7s = _lock(signer)
    assert verify_detached(manifest, p7s, roots, at=SIGNED_AT).bottom_line
    with pytest.raises(SigningError, match="wrong or missing passphrase"):
        load_signer(cfg, environ={"HSAR_TEST_P12": "wrong"})
    with pytest.raises(SigningError, match="HSAR_TEST_P12.*not set"):
        load_signer(cfg, environ={})


def test_encrypted_pem_key_needs_its_passphrase(home, roots):
    path = home / "keys" / "signer.key.pem"
    key = serialization.load_pem_private_key(path.read_bytes(), None)
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.BestAvailableEncryption(b"pass-1234"))
    )  # fmt: skip
    with pytest.raises(SigningError, match="passphrase_env"):
        load_signer(load(home, environ={}), environ={})
    (home / "hsar.toml").write_text('[signing]\npassphrase_env = "HSAR_TEST_KEY"\n', "utf-8")
    signer = load_signer(load(home, environ={}), environ={"HSAR_TEST_KEY": "pass-1234"})
    assert verify_detached(b"x", sign_detached(b"x", signer, signing_time=SIGNED_AT), roots, at=SIGNED_AT).bottom_line


def test_missing_key_points_at_hsar_init(tmp_path):
    with pytest.raises(SigningError, match="hsar init"):
        load_signer(load(tmp_path / "empty", environ={}), environ={})


def test_key_must_match_certificate(home, tmp_path):
    other = create_demo_pki(tmp_path / "other", organisation=ORG, now=NOW)
    shutil.copy(other.signer_key, home / "keys" / "signer.key.pem")
    with pytest.raises(SigningError, match="does not belong"):
        load_signer(load(home, environ={}), environ={})


def test_garbage_certificate_is_an_error(home):
    (home / "keys" / "signer.cert.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(SigningError, match="signing.cert"):
        load_signer(load(home, environ={}), environ={})


# --------------------------------------------------------------------------------------------- manifests


def test_render_and_parse_manifest():
    data = render_manifest(STATE)
    lines = data.decode("utf-8").splitlines()
    assert lines == [f"{STATE[p]}  {p}" for p in sorted(STATE)]
    assert data.endswith(b"\n")
    assert parse_manifest(data) == STATE
    assert parse_manifest(b"") == {}


def test_render_normalises_case_and_refuses_bad_entries():
    assert render_manifest({"a b": "AB" * 64}) == ("ab" * 64 + "  a b\n").encode()
    with pytest.raises(SigningError, match="SHA-512"):
        render_manifest({"a": "abc"})
    with pytest.raises(SigningError, match="logical path"):
        render_manifest({"a\nb": "ab" * 64})


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\xff\xfe", "UTF-8"),
        (b"abc  x\n", "line 1"),
        (("ab" * 64 + " x\n").encode(), "line 1"),
        (("ab" * 64 + "  x\n" + "cd" * 64 + "  x\n").encode(), "repeats"),
        (("ab" * 64 + "  x\r\n").encode(), "line 1"),
        (("ab" * 64 + "  x\n\n").encode(), "line 2"),
    ],
)
def test_parse_manifest_refuses_malformed(data, message):
    with pytest.raises(SigningError, match=message):
        parse_manifest(data)


# --------------------------------------------------------------------------------------------- check_lock


def _stored(state, manifest, p7s):
    """The state as storage records it: the signature files included with their digests."""
    return {**state, SIGNATURE_MANIFEST: hashlib.sha512(manifest).hexdigest(),
            SIGNATURE_FILE: hashlib.sha512(p7s).hexdigest()}  # fmt: skip


def test_check_lock_ok(signer, roots):
    manifest, p7s = _lock(signer)
    status = check_lock(_stored(STATE, manifest, p7s), manifest, p7s, roots, at=SIGNED_AT)
    assert status.bottom_line and status.manifest_matches and status.problems == ()
    assert status.entries == len(STATE)
    assert SIGNATURE_MANIFEST.encode() not in manifest


def test_check_lock_lists_missing_extra_and_changed(signer, roots):
    manifest, p7s = _lock(signer)
    state = dict(STATE)
    del state["data/review/审核表.pdf"]
    state["data/dynamic/年度复核.pdf"] = _sha("new")
    state["metadata/archive.xml"] = _sha("edited")
    status = check_lock(_stored(state, manifest, p7s), manifest, p7s, roots, at=SIGNED_AT)
    assert status.missing == ("data/review/审核表.pdf",)
    assert status.extra == ("data/dynamic/年度复核.pdf",)
    assert status.changed == ("metadata/archive.xml",)
    assert status.signature.bottom_line and not status.bottom_line
    assert Text.of("signature.digest_differs", path="metadata/archive.xml") in status.problems
    assert "摘要不同：metadata/archive.xml" in [p.render("zh") for p in status.problems]
    assert "digest differs: metadata/archive.xml" in [p.render("en") for p in status.problems]


def test_check_lock_notices_substituted_signature_files(signer, roots):
    manifest, p7s = _lock(signer)
    stored = _stored(STATE, manifest, p7s)
    other_manifest, other_p7s = _lock(signer, {**STATE, "data/extra.pdf": _sha("x")})
    status = check_lock(stored, other_manifest, other_p7s, roots, at=SIGNED_AT)
    assert set(status.changed) == {SIGNATURE_MANIFEST, SIGNATURE_FILE}
    assert status.extra == () and status.missing == ("data/extra.pdf",)


def test_resigned_version_is_detected(signer, rogue, roots):
    """An attacker edits a file, rewrites the manifest and signs it with a look-alike key."""
    tampered = {**STATE, "metadata/archive.xml": _sha("tampered")}
    manifest, p7s = _lock(rogue, tampered)
    status = check_lock(_stored(tampered, manifest, p7s), manifest, p7s, roots, at=SIGNED_AT)
    assert status.manifest_matches
    assert status.signature.intact and status.signature.valid and not status.signature.trusted
    assert not status.bottom_line
    assert any("not trusted" in p.render("en") for p in status.problems)


def test_check_lock_with_garbage(signer, roots):
    status = check_lock(STATE, b"\xff not a manifest", b"junk", roots, at=SIGNED_AT)
    assert status.manifest_error and "UTF-8" in status.manifest_error
    assert not status.bottom_line and not status.signature.bottom_line
    assert len(status.problems) == 2


def test_trust_roots_are_reread_when_the_file_changes(signer, roots, tmp_path):
    """Roots are parsed once per process, but a replaced root file is read again, a removed one is an error."""
    manifest, p7s = _lock(signer)
    assert verify_detached(manifest, p7s, roots, at=SIGNED_AT).bottom_line
    assert verify_detached(manifest, p7s, roots, at=SIGNED_AT).bottom_line  # from the cache
    saved = roots[0].read_bytes()
    other = create_demo_pki(tmp_path / "other", organisation=ORG, now=NOW)
    shutil.copyfile(other.ca_cert, roots[0])
    assert not verify_detached(manifest, p7s, roots, at=SIGNED_AT).trusted
    roots[0].unlink()
    with pytest.raises(SigningError, match="trust root file not found"):
        verify_detached(manifest, p7s, roots, at=SIGNED_AT)
    roots[0].write_bytes(saved)
    assert verify_detached(manifest, p7s, roots, at=SIGNED_AT).bottom_line


def test_a_trust_root_broken_inside_is_refused_when_read_not_when_used(signer, roots, tmp_path):
    """asn1crypto reads a certificate lazily: one whose outer structure holds but whose validity dates are not
    dates must be refused as the file is read (a SigningError naming it), not fail inside path validation."""
    der = bytearray(x509.load_pem_x509_certificate(roots[0].read_bytes()).public_bytes(serialization.Encoding.DER))
    at = der.index(b"\x17\x0d")  # the first UTCTime (notBefore): YYMMDDHHMMSSZ
    der[at + 4:at + 6] = b"99"  # month 99, same length: every enclosing length still holds
    broken = tmp_path / "broken.der"
    broken.write_bytes(bytes(der))
    manifest, p7s = _lock(signer)
    with pytest.raises(SigningError, match="broken.der is not a PEM or DER certificate file"):
        verify_detached(manifest, p7s, [broken], at=SIGNED_AT)
