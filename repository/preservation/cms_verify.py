"""Checking a detached CMS signature (RFC 5652 §5.4, §5.6) with asn1crypto and ``pyhanko_certvalidator``.

This is pyHanko's ``validate_detached_cms`` done without importing ``pyhanko.sign``: that package's
``__init__`` loads the whole signer stack (PDF signer, aiohttp: about half a second at every ``hsar audit``
start), which verification never uses. The steps follow pyHanko's ``cms_basic_validation``:

* the signer certificate is the embedded certificate named by the SignerInfo's ``sid``;
* with signed attributes: exactly one ``content-type`` equal to the encapsulated content type, exactly one
  ``message-digest`` (compared with the digest of the detached content: *intact*), the RFC 6211
  algorithm-protection attribute when present, and the ESS signing-certificate(-v2) attribute (RFC 5035)
  matching the signer certificate; the signature is over the DER SET OF the signed attributes;
* the signature value is checked with ``pyhanko_certvalidator``'s signature validator (*valid*);
* weak digest algorithms (md2, md5, sha1) are refused (pyHanko's default algorithm policy);
* the signer certificate's path to ``signing.trust_roots`` is validated by ``pyhanko_certvalidator`` (no
  fetching, revocation soft-fail) and its key usage must include ``digital_signature`` or
  ``non_repudiation`` (*trusted*).

The path validation is the costly step and depends only on the signer certificate, the embedded
intermediates, the trust roots and the validation-time policy, so it is cached per process
(:data:`POLICY`): a success is reused for any signing time inside the validity periods of every
certificate of the path (offline validation has no other time-dependent input); a failure only for the same
signing time. An audit thus validates each signer certificate's path once per run, not once per version.
Structural problems raise ``ValueError`` ("could not evaluate": the caller reports a malformed signature).
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from asn1crypto import cms, core, x509
from cryptography.exceptions import InvalidSignature

# Loaded with the module (the audit loads it before its shard workers fork, so they share it): every audit
# checks signatures.
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError, ValidationError
from pyhanko_certvalidator.sig_validate import DefaultSignatureValidator, SignatureValidationContext

#: What a cached path validation was made under (part of the cache key).
POLICY = "at-signing-time;no-fetching;revocation-soft-fail;ku=digital_signature|non_repudiation"
SIGNER_KEY_USAGES = frozenset({"digital_signature", "non_repudiation"})
WEAK_DIGESTS = frozenset({"md2", "md5", "sha1"})
_CACHE_MAX = 256
T = TypeVar("T")


@dataclass(frozen=True)
class CmsStatus:
    """The outcome of :func:`validate_detached` (the fields of pyHanko's status that hsar uses)."""

    intact: bool
    valid: bool
    signing_cert: x509.Certificate
    md_algorithm: str
    signer_reported_dt: datetime | None
    trust_problem: str | None  # None: the signer certificate is trusted (when valid and intact)

    @property
    def trusted(self) -> bool:
        return self.valid and self.intact and self.trust_problem is None


@dataclass(frozen=True)
class _PathResult:
    problem: str | None
    not_before: datetime
    not_after: datetime

    def covers(self, moment: datetime) -> bool:
        return self.not_before <= moment <= self.not_after


_PATHS: dict[tuple[Any, ...], _PathResult] = {}
_PATHS_GUARD = threading.Lock()
#: Path validations done by this process (a test counts them: once per signer certificate and run).
path_validations = 0


def run_coroutine(coro: Coroutine[Any, Any, T]) -> T:
    """Run a pyHanko coroutine to completion, also when the caller already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


_CERTS: dict[bytes, x509.Certificate] = {}  # every version embeds the same few certificates: parsed once
_DER: dict[int, tuple[x509.Certificate, bytes, bytes]] = {}  # id -> (certificate, its DER, sha256 of it)


def _der(cert: x509.Certificate) -> tuple[bytes, bytes]:
    """``(DER, sha256 of it)`` of ``cert``, kept per certificate object: ``dump()`` of a parsed certificate
    walks all of it to see whether it was changed, and every check asks for the same few certificates."""
    known = _DER.get(id(cert))
    if known is not None and known[0] is cert:
        return known[1], known[2]
    der = cert.dump()
    digest = hashlib.sha256(der).digest()
    with _PATHS_GUARD:
        if len(_DER) >= _CACHE_MAX:
            _DER.clear()
        _DER[id(cert)] = (cert, der, digest)
    return der, digest


def fingerprint(cert: x509.Certificate) -> bytes:
    """SHA-256 of the certificate's DER."""
    return _der(cert)[1]


def _parsed(cert: x509.Certificate) -> x509.Certificate:
    """The already parsed certificate with the same DER bytes as ``cert`` (or ``cert``, kept for next time)."""
    der = cert.dump()  # an embedded certificate is not parsed yet: its bytes as received
    with _PATHS_GUARD:
        known = _CERTS.get(der)
        if known is None:
            if len(_CERTS) >= _CACHE_MAX:
                _CERTS.clear()
            known = _CERTS[der] = cert
    return known


def _set_of(contents: bytes) -> bytes:
    """The DER of a SET OF with these contents (RFC 5652 §5.4: the signed attributes are signed as a SET OF,
    not with the [0] tag they are stored under)."""
    size = len(contents)
    length = bytes([size]) if size < 0x80 else bytes([0x80 | (size.bit_length() + 7) // 8]) + size.to_bytes(
        (size.bit_length() + 7) // 8, "big")
    return b"\x31" + length + contents


def _signer_cert(signed_data: cms.SignedData, sid: cms.SignerIdentifier) -> tuple[x509.Certificate, list[x509.Certificate]]:
    certs = [_parsed(c.chosen) for c in signed_data["certificates"] or () if c.name == "certificate"]
    for cert in certs:
        if sid.name == "issuer_and_serial_number":
            wanted = sid.chosen
            match = (cert.serial_number == wanted["serial_number"].native
                     and (cert.issuer.dump() == wanted["issuer"].dump() or cert.issuer == wanted["issuer"]))
        else:
            match = cert.key_identifier == sid.chosen.native
        if match:
            return cert, [c for c in certs if c is not cert]
    raise ValueError("signer certificate not included in signature")


def _attributes(signed_attrs: cms.CMSAttributes) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for attr in signed_attrs:
        name = attr["type"].native
        if name in out:
            raise ValueError(f"signed attribute {name} repeated")
        out[name] = list(attr["values"])
    return out


def _one(attrs: dict[str, list[Any]], name: str) -> Any:  # noqa: ANN401 - an asn1crypto value
    values = attrs.get(name)
    if values is None or len(values) != 1:
        raise ValueError(f"signed attribute {name} missing or not single-valued")
    return values[0]


def _check_ess(attrs: dict[str, list[Any]], cert: x509.Certificate) -> None:
    """RFC 5035: the first ESSCertID(v2) names the signer certificate (hash, and issuer/serial if given)."""
    for name, default_hash in (("signing_certificate_v2", None), ("signing_certificate", "sha1")):
        if name not in attrs:
            continue
        certid = _one(attrs, name)["certs"][0]
        algorithm = default_hash or certid["hash_algorithm"]["algorithm"].native
        if hashlib.new(algorithm, _der(cert)[0]).digest() != certid["cert_hash"].native:
            raise ValueError("signing certificate attribute does not match the signer's certificate")
        issuer_serial = certid["issuer_serial"]
        if issuer_serial:
            names = [g.chosen for g in issuer_serial["issuer"] if g.name == "directory_name"]
            if issuer_serial["serial_number"].native != cert.serial_number or not any(
                    n.dump() == cert.issuer.dump() or n == cert.issuer for n in names):
                raise ValueError("signing certificate attribute names another issuer or serial number")
        return


def _check_algorithm_protection(attrs: dict[str, list[Any]], signer_info: cms.SignerInfo) -> None:
    if "cms_algorithm_protection" not in attrs:
        return
    protection = _one(attrs, "cms_algorithm_protection")
    if protection["digest_algorithm"].native != signer_info["digest_algorithm"].native:
        raise ValueError("digest algorithm does not match the CMS algorithm protection attribute")
    signature_algorithm = protection["signature_algorithm"]
    if signature_algorithm and signature_algorithm.native != signer_info["signature_algorithm"].native:
        raise ValueError("signature algorithm does not match the CMS algorithm protection attribute")


def _signature_hash(signer_info: cms.SignerInfo) -> str | None:
    """The hash named by the signature algorithm itself (``sha1_rsa``: sha1), None when it names none."""
    try:
        return str(signer_info["signature_algorithm"].hash_algo)
    except ValueError:
        return None


def validate_detached(data: bytes, signed_data: cms.SignedData, roots: list[x509.Certificate],
                      moment: datetime | None) -> CmsStatus:
    """Check the one SignerInfo of ``signed_data`` over the detached ``data`` (see the module text)."""
    moment = moment or datetime.now(UTC)
    signer_info = signed_data["signer_infos"][0]
    eci = signed_data["encap_content_info"]
    if eci["content"] is not core.VOID and eci["content"].native is not None:
        raise ValueError("a detached signature carries no encapsulated content")
    md_algorithm = signer_info["digest_algorithm"]["algorithm"].native
    actual = hashlib.new(md_algorithm, data).digest()
    cert, others = _signer_cert(signed_data, signer_info["sid"])
    signed_attrs = signer_info["signed_attrs"]
    signing_time = None
    if signed_attrs is core.VOID:
        embedded, signed, prehashed = None, actual, True
    else:
        attrs = _attributes(signed_attrs)
        _check_algorithm_protection(attrs, signer_info)
        _check_ess(attrs, cert)
        if _one(attrs, "content_type").native != eci["content_type"].native:
            raise ValueError("content type attribute differs from the encapsulated content type")
        embedded = _one(attrs, "message_digest").native
        if "signing_time" in attrs:
            signing_time = _one(attrs, "signing_time").native
        signed, prehashed = _set_of(signed_attrs.contents), False
    try:
        DefaultSignatureValidator().validate_signature(
            signer_info["signature"].native, signed, cert.public_key, signer_info["signature_algorithm"],
            context=SignatureValidationContext(contextual_md_algorithm=md_algorithm, prehashed=prehashed))
        valid = True
    except InvalidSignature:
        valid = False
    intact = actual == embedded if embedded is not None else valid
    if md_algorithm in WEAK_DIGESTS or _signature_hash(signer_info) in WEAK_DIGESTS:
        problem: str | None = f"weak digest algorithm {md_algorithm}/{_signature_hash(signer_info)}"
    else:
        problem = trust_problem(cert, others, roots, moment) if valid and intact else "signature not valid"
    return CmsStatus(intact, valid, cert, md_algorithm, signing_time, problem)


def trust_problem(cert: x509.Certificate, others: list[x509.Certificate], roots: list[x509.Certificate],
                  moment: datetime) -> str | None:
    """Why ``cert`` is not trusted at ``moment`` (None: trusted), from the cache when it can answer."""
    key = (fingerprint(cert), frozenset(map(fingerprint, roots)), frozenset(map(fingerprint, others)), POLICY)
    with _PATHS_GUARD:
        cached = _PATHS.get(key) or _PATHS.get((*key, moment))
    if cached is not None and cached.covers(moment):
        return cached.problem
    result = _validate_path(cert, others, roots, moment)
    with _PATHS_GUARD:
        if len(_PATHS) >= _CACHE_MAX:
            _PATHS.clear()
        _PATHS[key if result.problem is None else (*key, moment)] = result
    return result.problem


def _validate_path(cert: x509.Certificate, others: list[x509.Certificate], roots: list[x509.Certificate],
                   moment: datetime) -> _PathResult:
    global path_validations
    path_validations += 1
    context = ValidationContext(trust_roots=roots, allow_fetching=False, moment=moment, revocation_mode="soft-fail")
    validator = CertificateValidator(cert, intermediate_certs=others, validation_context=context)
    try:
        path = run_coroutine(validator.async_validate_path())
    except PathBuildingError:
        return _PathResult("NO_CERTIFICATE_CHAIN_FOUND", moment, moment)
    except (PathValidationError, ValidationError) as exc:
        return _PathResult(f"{type(exc).__name__}: {exc}", moment, moment)
    usages = set(cert.key_usage_value.native) if cert.key_usage_value is not None else set()
    if not usages & SIGNER_KEY_USAGES:
        return _PathResult("key usage allows neither digital_signature nor non_repudiation", moment, moment)
    certs = list(path.iter_certs(include_root=True))
    return _PathResult(None, max(c.not_valid_before for c in certs), min(c.not_valid_after for c in certs))
