"""Locking signatures of versions: a SHA-512 manifest signed with a detached CMS signature (RFC 5652).

Every version's logical state carries ``signature/manifest-sha512.txt`` (one ``<sha512>  <logical path>`` line
per other file of the state, sorted, UTF-8) and ``signature/manifest-sha512.txt.p7s``: a DER-encoded CMS
SignedData over those bytes, detached (no encapsulated content), SHA-512 digest, with the signingTime and
ESS signingCertificateV2 signed attributes (RFC 5035) and the signer's certificate and chain embedded. pyHanko
makes the signature (its PKCS#11 signer for a key in a token: :mod:`.signing_pkcs11`); :mod:`.cms_verify`
checks it with asn1crypto and pyHanko's certificate validator; anyone holding the CA certificate can check it independently with::

    openssl cms -verify -binary -inform DER -in manifest-sha512.txt.p7s -content manifest-sha512.txt \
        -CAfile ca.pem

Verification never fetches anything (no OCSP, CRL or AIA over the network): the trust roots are the PEM files
named by ``signing.trust_roots``. A malformed or hostile signature yields a :class:`SignatureStatus` whose
``bottom_line`` is False with a ``reason``; exceptions mean only "could not evaluate" (unreadable trust roots,
unusable signing key), as :class:`~repository.errors.SigningError`.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography.exceptions import UnsupportedAlgorithm

from ..errors import SigningError
from ..messages import Text
from .aip_layout import SIGNATURE_FILE, SIGNATURE_MANIFEST, SIGNATURE_PATHS
from .cms_verify import CmsStatus, fingerprint, run_coroutine, validate_detached
from .ocfl_inventory import all_sha512_hex
from .signing_keys import load_certs
from .signing_keys import load_signer as load_signer  # the signing API in one place for callers

if TYPE_CHECKING:
    from pyhanko.sign.signers import Signer

# Verification imports no part of ``pyhanko.sign`` (its package loads the signer stack and aiohttp, about
# half a second at each ``hsar audit`` start): see :mod:`.cms_verify`. Signing imports it when it signs.
DIGEST_ALGORITHM = "sha512"


def __getattr__(name: str) -> Any:  # noqa: ANN401 - ``Signer`` for callers that name the type, loaded lazily
    if name == "Signer":
        from pyhanko.sign.signers import Signer

        return Signer
    raise AttributeError(name)

_SHA512_HEX = re.compile(r"[0-9a-f]{128}")
_MANIFEST_LINE = re.compile(r"([0-9a-f]{128})  (.+)")


@dataclass(frozen=True)
class SignatureStatus:
    """Outcome of checking one detached CMS signature (shaped after pyHanko's ``SignatureStatus``)."""

    intact: bool  # the signed digest equals the digest of the content
    valid: bool  # the signature value verifies against the embedded signer certificate
    trusted: bool  # the signer certificate chains to a trust root and may sign documents
    signer_subject: str | None = None
    signing_time: datetime | None = None  # signer-reported signingTime attribute (not a trusted timestamp)
    digest_algorithm: str | None = None
    signer_fingerprint: str | None = None  # SHA-256 of the signer certificate (DER), hex
    reason: Text | None = None  # why bottom_line is False; None when it is True

    @property
    def bottom_line(self) -> bool:
        return self.intact and self.valid and self.trusted

    @classmethod
    def failed(cls, reason: Text) -> SignatureStatus:
        return cls(intact=False, valid=False, trusted=False, reason=reason)


@dataclass(frozen=True)
class LockStatus:
    """A version lock checked against the version's state.

    ``missing``: listed in the manifest but absent from the state. ``extra``: in the state but not listed.
    ``changed``: listed with another digest than the state's (including the two signature files themselves,
    when the state records digests for them and the bytes given do not match).
    """

    missing: tuple[str, ...]
    extra: tuple[str, ...]
    changed: tuple[str, ...]
    signature: SignatureStatus
    manifest_error: str | None = None
    entries: int = field(default=0)

    @property
    def manifest_matches(self) -> bool:
        return self.manifest_error is None and not (self.missing or self.extra or self.changed)

    @property
    def bottom_line(self) -> bool:
        return self.manifest_matches and self.signature.bottom_line

    @property
    def problems(self) -> tuple[Text, ...]:
        """The reasons, as messages for people; empty when :attr:`bottom_line` is True."""
        out = [Text.of("signature.manifest_unreadable", detail=self.manifest_error)] if self.manifest_error else []
        out += [Text.of("signature.missing_from_state", path=p) for p in self.missing]
        out += [Text.of("signature.not_in_manifest", path=p) for p in self.extra]
        out += [Text.of("signature.digest_differs", path=p) for p in self.changed]
        if not self.signature.bottom_line:
            out.append(Text.of("signature.reason", reason=self.signature.reason or ""))
        return tuple(out)


# --------------------------------------------------------------------------------------------- loading


def sign_detached(
    data: bytes,
    signer: Signer,
    *,
    signing_time: datetime | None = None,
    digest_algorithm: str = DIGEST_ALGORITHM,
) -> bytes:
    """A detached CMS SignedData (DER) over ``data``, with signingTime and the signer's chain embedded."""
    from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes

    moment = signing_time or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    attrs = PdfCMSSignedAttributes(signing_time=moment)
    try:
        content_info = run_coroutine(
            signer.async_sign_general_data(data, digest_algorithm, detached=True, signed_attr_settings=attrs)
        )
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise SigningError(f"could not sign: {exc}") from exc
    return content_info.dump()


#: Parsed trust roots by file, kept while the file's identity and mtime stay the same (an audit checks
#: one lock per version: re-reading and re-parsing the roots each time cost more than the check itself).
_ROOTS_CACHE: dict[tuple[str, int, int, int, int], list[asn1_x509.Certificate]] = {}
_ROOTS_CACHE_MAX = 16


def load_trust_roots(paths: Iterable[Path]) -> list[asn1_x509.Certificate]:
    """Certificates from PEM/DER files; an unreadable file is a :class:`SigningError`.

    Each file is parsed once per process while its device, inode, size and mtime stay the same; a changed
    or replaced file is read again, and a missing or unreadable one is an error on every call.
    """
    certs: list[asn1_x509.Certificate] = []
    for path in paths:
        try:
            info = os.stat(path)
        except OSError:
            info = None
        if info is None:
            certs += load_certs([path], "trust root file", "signing.trust_roots")  # raises the right error
            continue
        key = (os.fspath(path), info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
        cached = _ROOTS_CACHE.get(key)
        if cached is None:
            cached = load_certs([path], "trust root file", "signing.trust_roots")
            if len(_ROOTS_CACHE) >= _ROOTS_CACHE_MAX:
                _ROOTS_CACHE.clear()
            _ROOTS_CACHE[key] = cached
        certs += cached
    return certs


def verify_detached(
    data: bytes, signature: bytes, trust_roots: list[Path], *, at: datetime | None = None
) -> SignatureStatus:
    """Check a detached CMS signature over ``data`` against ``trust_roots`` (at ``at``, default now)."""
    roots = load_trust_roots(trust_roots)
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    try:
        signed_data = _signed_data(signature)
    except (ValueError, TypeError, KeyError) as exc:
        return SignatureStatus.failed(Text.of("signature.malformed", detail=_detail(exc)))
    try:
        status = validate_detached(data, signed_data, roots, at)
    except Exception as exc:  # noqa: BLE001 - hostile CMS can make pyHanko/asn1crypto raise any kind of error
        return SignatureStatus.failed(Text.of("signature.malformed", detail=f"{type(exc).__name__}: {exc}"))
    return _status_from_pyhanko(status)


def _detail(exc: Exception) -> Text | str:
    """An exception's message: the catalogue text it carries (ours), else its own words (a library's)."""
    return exc.args[0] if len(exc.args) == 1 and isinstance(exc.args[0], Text) else str(exc)


def _signed_data(signature: bytes) -> cms.SignedData:
    if not signature:
        raise ValueError(Text.of("signature.empty"))
    info = cms.ContentInfo.load(signature, strict=True)
    _check_structure(info)
    if info["content_type"].native != "signed_data":
        raise ValueError(f"not a CMS SignedData object ({info['content_type'].native})")
    signed_data = info["content"]
    if len(signed_data["signer_infos"]) != 1:
        raise ValueError(f"expected exactly one signer, found {len(signed_data['signer_infos'])}")
    return signed_data


def _check_structure(info: cms.ContentInfo) -> None:
    """Parse the structure of every field (tags, lengths, types), so structural errors surface here as
    "malformed signature". Not ``.native``: decoding every value to Python cost about 100 ms per signature;
    :mod:`.cms_verify` decodes the values it validates, and a malformed one is a "malformed signature".
    The parsed object is the one validated (parsing it twice cost a third of a check): nothing copies or
    re-encodes its parsed parts there (:func:`.cms_verify.validate_detached` takes the DER it hashes and
    fingerprints as it was received)."""
    info["content"]._parse_children(recurse=True)


def _status_from_pyhanko(status: CmsStatus) -> SignatureStatus:
    cert = status.signing_cert
    if not status.intact:
        reason: Text | None = Text.of("signature.content_changed")
    elif not status.valid:
        reason = Text.of("signature.value_invalid")
    elif not status.trusted:
        reason = Text.of("signature.untrusted", subject=cert.subject.human_friendly,
                         detail=status.trust_problem or Text.of("signature.no_path"))
    else:
        reason = None
    return SignatureStatus(
        intact=bool(status.intact),
        valid=bool(status.valid),
        trusted=bool(status.trusted),
        signer_subject=cert.subject.human_friendly,
        signing_time=status.signer_reported_dt,
        digest_algorithm=status.md_algorithm,
        signer_fingerprint=fingerprint(cert).hex(),
        reason=reason,
    )


# --------------------------------------------------------------------------------------------- manifests


def render_manifest(entries: Mapping[str, str]) -> bytes:
    """``<sha512>  <logical path>`` lines sorted by path, UTF-8, each ending in a newline."""
    paths = sorted(entries)
    digests = [entries[path] for path in paths]
    if all_sha512_hex(digests) and all(paths) and not any("\n" in p or "\r" in p for p in paths):
        try:  # the common case, checked in one pass (else each entry below, to name the first bad one)
            return "".join([f"{d.lower()}  {p}\n" for d, p in zip(digests, paths, strict=True)]).encode("utf-8")
        except UnicodeEncodeError:
            pass
    lines = []
    for path in sorted(entries):
        digest = entries[path].lower()
        if not _SHA512_HEX.fullmatch(digest):
            raise SigningError(f"not a SHA-512 hex digest for {path!r}: {entries[path]!r}")
        if not path or "\n" in path or "\r" in path:
            raise SigningError(f"logical path cannot be written to a manifest: {path!r}")
        lines.append(f"{digest}  {path}\n")
    try:
        return "".join(lines).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise SigningError(f"logical path is not encodable as UTF-8: {exc}") from None


def parse_manifest(data: bytes) -> dict[str, str]:
    """The entries of a manifest written by :func:`render_manifest`; :class:`SigningError` when malformed."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SigningError(f"manifest is not UTF-8: {exc}") from None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    entries: dict[str, str] = {}
    for number, line in enumerate(lines, 1):
        match = _MANIFEST_LINE.fullmatch(line)
        if match is None or "\r" in line:
            raise SigningError(f"manifest line {number} is not '<sha512>  <logical path>': {line[:200]!r}")
        digest, path = match.groups()
        if path in entries:
            raise SigningError(f"manifest line {number} repeats the path {path!r}")
        entries[path] = digest
    return entries


def sha512_hex(data: bytes) -> str:
    return hashlib.sha512(data).hexdigest()


def lock_version(
    state_digests: Mapping[str, str], signer: Signer, *, signing_time: datetime | None = None
) -> tuple[bytes, bytes]:
    """Manifest bytes and detached-signature bytes locking a state (the signature files are left out)."""
    manifest = render_manifest({p: d for p, d in state_digests.items() if p not in SIGNATURE_PATHS})
    return manifest, sign_detached(manifest, signer, signing_time=signing_time)


def check_lock(
    state_digests: Mapping[str, str],
    manifest_bytes: bytes,
    p7s_bytes: bytes,
    trust_roots: list[Path],
    *,
    at: datetime | None = None,
) -> LockStatus:
    """Does the manifest list exactly the state (minus the signature files), and is its signature good?"""
    signature = verify_detached(manifest_bytes, p7s_bytes, trust_roots, at=at)
    try:
        listed = parse_manifest(manifest_bytes)
    except SigningError as exc:
        return LockStatus((), (), (), signature, manifest_error=str(exc))
    state = {p: d.lower() for p, d in state_digests.items() if p not in SIGNATURE_PATHS}
    missing = sorted(listed.keys() - state.keys())
    extra = sorted(state.keys() - listed.keys())
    changed = sorted(p for p in listed.keys() & state.keys() if listed[p] != state[p])
    for path, data in ((SIGNATURE_MANIFEST, manifest_bytes), (SIGNATURE_FILE, p7s_bytes)):
        if path in state_digests and state_digests[path].lower() != sha512_hex(data):
            changed.append(path)
    return LockStatus(tuple(missing), tuple(extra), tuple(changed), signature, entries=len(listed))
