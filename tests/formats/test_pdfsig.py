"""Embedded PDF signatures: a test PKI made here, documents signed with pyHanko, then verified."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from reportlab.pdfgen import canvas

from repository.errors import ConfigError
from repository.formats.pdfsig import EmbeddedSignature, verify_pdf_signatures

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "示范市住房保障中心"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _usage(ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=not ca, content_commitment=not ca, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                         encipher_only=False, decipher_only=False)


def _cert(subject: str, key, issuer: str, issuer_key, ca: bool, days: int = 365) -> x509.Certificate:
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(NOW - dt.timedelta(days=1)).not_valid_after(NOW + dt.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(_usage(ca), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(path: Path, cert: x509.Certificate) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def make_pki(d: Path, name: str = "ca") -> dict[str, Path]:
    """A CA and a signer it issued: PEM files for the CA, the signer certificate and the signer key."""
    ca_key, signer_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _cert(f"Test Root {name}", ca_key, f"Test Root {name}", ca_key, ca=True, days=3650)
    signer = _cert("张三 (Signer)", signer_key, f"Test Root {name}", ca_key, ca=False)
    key_file = d / f"{name}-signer.key.pem"
    key_file.write_bytes(signer_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    return {"ca": _pem(d / f"{name}.pem", ca), "cert": _pem(d / f"{name}-signer.pem", signer), "key": key_file}


def make_pdf(path: Path) -> Path:
    c = canvas.Canvas(str(path))
    c.drawString(72, 720, "Lease contract")
    c.showPage()
    c.save()
    return path


def sign(src: Path, out: Path, pki: dict[str, Path], field: str = "Seal1") -> Path:
    signer = signers.SimpleSigner.load(str(pki["key"]), str(pki["cert"]), ca_chain_files=(str(pki["ca"]),))
    with open(src, "rb") as inf, open(out, "wb") as outf:
        writer = IncrementalPdfFileWriter(inf)
        signers.sign_pdf(writer, signers.PdfSignatureMetadata(field_name=field), signer=signer, output=outf)
    return out


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    return {"good": make_pki(d, "good"), "other": make_pki(d, "other")}


@pytest.fixture(scope="module")
def signed(tmp_path_factory, pki):
    d = tmp_path_factory.mktemp("signed")
    return sign(make_pdf(d / "plain.pdf"), d / "signed.pdf", pki["good"])


def test_signed_pdf_is_intact_and_trusted(signed, pki):
    (sig,) = verify_pdf_signatures(signed, [pki["good"]["ca"]])
    assert isinstance(sig, EmbeddedSignature)
    assert (sig.field, sig.intact, sig.valid, sig.trusted, sig.bottom_line) == ("Seal1", True, True, True, True)
    assert sig.status == "valid" and sig.evaluated and sig.kind == "signature"
    assert sig.signer == "张三 (Signer)"
    assert sig.coverage == "ENTIRE_FILE"
    signed_at = dt.datetime.fromisoformat(sig.signing_time)
    assert abs(signed_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=10)
    assert sig.to_dict()["status"] == "valid"


def test_fixed_validation_time_after_expiry_is_not_trusted(signed, pki):
    later = NOW + dt.timedelta(days=400)  # the signer certificate is valid for 365 days
    (sig,) = verify_pdf_signatures(signed, [pki["good"]["ca"]], validation_time=later)
    assert sig.intact and sig.valid and not sig.trusted and not sig.bottom_line


def test_untrusted_ca_is_intact_but_not_trusted(signed, pki):
    (sig,) = verify_pdf_signatures(signed, [pki["other"]["ca"]])
    assert (sig.intact, sig.valid, sig.trusted, sig.bottom_line) == (True, True, False, False)
    assert sig.status == "untrusted"
    assert verify_pdf_signatures(signed, [])[0].status == "untrusted"  # no roots: the OS store is not used


def test_tampered_bytes_are_not_intact(signed, pki, tmp_path):
    data = bytearray(signed.read_bytes())
    at = data.index(b"ReportLab")  # the producer string, inside the signed byte range
    data[at] = ord("X")
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(bytes(data))
    (sig,) = verify_pdf_signatures(tampered, [pki["good"]["ca"]])
    assert not sig.intact and not sig.bottom_line and sig.status == "broken"


def test_unsigned_and_non_pdf_give_nothing(tmp_path, pki):
    assert verify_pdf_signatures(make_pdf(tmp_path / "plain.pdf"), [pki["good"]["ca"]]) == ()
    text = tmp_path / "a.txt"
    text.write_text("not a pdf", "utf-8")
    assert verify_pdf_signatures(text, [pki["good"]["ca"]]) == ()
    assert verify_pdf_signatures(tmp_path / "missing.pdf", [pki["good"]["ca"]]) == ()


def test_malformed_pdf_never_raises(signed, tmp_path, pki):
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"%PDF-1.7\n garbage without structure")
    assert verify_pdf_signatures(junk, [pki["good"]["ca"]]) == ()
    truncated = tmp_path / "truncated.pdf"
    data = signed.read_bytes()
    truncated.write_bytes(data[: data.index(b"/ByteRange") + 200])
    (sig,) = verify_pdf_signatures(truncated, [pki["good"]["ca"]])
    assert sig.status == "unverifiable" and sig.problem.startswith("malformed PDF")
    assert not (sig.intact or sig.valid or sig.trusted or sig.bottom_line)


def test_unreadable_trust_root_is_a_configuration_error(signed, tmp_path):
    with pytest.raises(ConfigError):
        verify_pdf_signatures(signed, [tmp_path / "no-such-ca.pem"])
