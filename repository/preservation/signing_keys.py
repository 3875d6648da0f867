"""The signing key of an institution (``signing.key``, ``signing.cert``, ``signing.chain``, PEM or PKCS#12),
loaded for :mod:`repository.preservation.signing`, and PEM/DER certificate files read for trust roots.

A key that cannot be read, is protected by a passphrase that is not given (``signing.passphrase_env`` names the
environment variable holding it), or does not belong to its certificate is a :class:`SigningError`, never a
traceback.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from asn1crypto import keys
from asn1crypto import x509 as asn1_x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data

from ..config import Config
from ..errors import SigningError

if TYPE_CHECKING:
    from cryptography import x509 as pyca_x509
    from pyhanko.sign import signers

# cryptography's X.509 module (a sixth of the instructions of an `hsar audit` process start, in callgrind) is
# imported where a key is loaded for signing; reading trust roots for verification needs asn1crypto only.

PKCS12_SUFFIXES = frozenset({".p12", ".pfx"})


def load_signer(cfg: Config, *, environ: Mapping[str, str] | None = None) -> signers.Signer:
    """The signer configured by ``signing.*``: a key in a PKCS#11 token when ``signing.pkcs11_module`` is set
    (:mod:`.signing_pkcs11`), else PEM key + certificate, or PKCS#12 when the key is .p12/.pfx."""
    from pyhanko.sign import signers  # the signer stack (with aiohttp) only where a version is signed
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    env = os.environ if environ is None else environ
    chain = load_certs(cfg.paths("signing.chain"), "certificate chain file", "signing.chain")
    from .signing_pkcs11 import load_pkcs11_signer, pkcs11_configured

    if pkcs11_configured(cfg):  # the key stays in the token; the certificate and chain are files
        certs = load_certs([cfg.path("signing.cert")], "signing certificate", "signing.cert")
        if not certs:
            raise SigningError(f"no certificate in {cfg.path('signing.cert')} (setting signing.cert)")
        return load_pkcs11_signer(cfg, certs[0], chain + certs[1:], environ=env)
    passphrase = _passphrase(str(cfg["signing.passphrase_env"]), env)
    key_path = cfg.path("signing.key")
    if key_path.suffix.lower() in PKCS12_SUFFIXES:
        key, cert, extra = _load_pkcs12(key_path, passphrase)
    else:
        key = _load_pem_key(key_path, passphrase)
        certs = load_certs([cfg.path("signing.cert")], "signing certificate", "signing.cert")
        if not certs:
            raise SigningError(f"no certificate in {cfg.path('signing.cert')} (setting signing.cert)")
        cert, extra = certs[0], certs[1:]
    _check_key_matches(key, cert, key_path)
    return signers.SimpleSigner(
        signing_cert=cert, signing_key=key, cert_registry=SimpleCertificateStore.from_certs(chain + extra)
    )


def _passphrase(env_name: str, env: Mapping[str, str]) -> bytes | None:
    if not env_name:
        return None
    if env_name not in env:
        raise SigningError(f"signing.passphrase_env names {env_name!r}, but that environment variable is not set")
    return env[env_name].encode("utf-8")


def _read(path: Path, what: str, setting: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        hint = " (run `hsar init` to create the demo PKI, or point hsar.toml at your own)"
        raise SigningError(f"{what} not found: {path} (setting {setting}){hint}") from None
    except OSError as exc:
        raise SigningError(f"cannot read {what} {path}: {exc.strerror}") from None


def load_certs(paths: Iterable[Path], what: str, setting: str) -> list[asn1_x509.Certificate]:
    certs: list[asn1_x509.Certificate] = []
    for path in paths:
        try:
            loaded = list(load_certs_from_pemder_data(_read(path, what, setting)))
            for cert in loaded:
                cert.native  # noqa: B018 - parse every field now (asn1crypto parses lazily), not at first use
        except (ValueError, TypeError) as exc:
            raise SigningError(f"{path} is not a PEM or DER certificate file (setting {setting}): {exc}") from None
        certs += loaded
    return certs


def _load_pem_key(path: Path, passphrase: bytes | None) -> keys.PrivateKeyInfo:
    data = _read(path, "signing key", "signing.key")
    try:
        return load_private_key_from_pemder_data(data, passphrase=passphrase)
    except TypeError as exc:  # cryptography: encrypted without a passphrase, or the reverse
        raise SigningError(f"cannot load signing key {path}: {exc} (see signing.passphrase_env)") from None
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise SigningError(f"cannot load signing key {path}: wrong passphrase or not a private key ({exc})") from None


def _load_pkcs12(
    path: Path, passphrase: bytes | None
) -> tuple[keys.PrivateKeyInfo, asn1_x509.Certificate, list[asn1_x509.Certificate]]:
    from cryptography.hazmat.primitives.serialization import pkcs12

    data = _read(path, "PKCS#12 file", "signing.key")
    try:
        key, cert, others = pkcs12.load_key_and_certificates(data, passphrase)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise SigningError(
            f"cannot open PKCS#12 file {path}: wrong or missing passphrase (signing.passphrase_env) "
            f"or not a PKCS#12 file ({exc})"
        ) from None
    if key is None or cert is None:
        raise SigningError(f"PKCS#12 file {path} must hold both a private key and its certificate")
    der_key = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return (
        keys.PrivateKeyInfo.load(der_key),
        _to_asn1(cert),
        [_to_asn1(c) for c in others],
    )


def _to_asn1(cert: pyca_x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _check_key_matches(key: keys.PrivateKeyInfo, cert: asn1_x509.Certificate, key_path: Path) -> None:
    from cryptography import x509 as pyca_x509

    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    private = serialization.load_der_private_key(key.dump(), password=None)
    certificate = pyca_x509.load_der_x509_certificate(cert.dump())
    if private.public_key().public_bytes(der, spki) != certificate.public_key().public_bytes(der, spki):
        raise SigningError(
            f"signing key {key_path} does not belong to the certificate {certificate.subject.rfc4514_string()}"
        )


# --------------------------------------------------------------------------------------------- sign / verify
