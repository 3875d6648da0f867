"""Embedded PDF signatures and seals (电子签名/电子印章) verified with pyHanko on ingest (DA/T 70 真实性).

For each signature field of a PDF (ISO 32000 §12.8, PAdES), pyHanko checks that the signed byte ranges
are unchanged (*intact*), that the CMS signature verifies with the signer's key (*valid*), and that the
signer's certificate chains to one of this repository's trust roots (``signing.trust_roots``) at the
validation time (*trusted*). Nothing is fetched from the network (``allow_fetching=False``) and missing
revocation information is tolerated (``revocation_mode='soft-fail'``). Document timestamps
(``/DocTimeStamp``) are checked the same way.

Results are values, one frozen :class:`EmbeddedSignature` per field, with pyHanko's single verdict
``bottom_line``. A file that is not a PDF, or a PDF without signatures, gives ``()``. A malformed PDF
never raises: if it shows signature markers it gives one status whose ``problem`` says why it could not
be evaluated. A signature pyHanko cannot evaluate (an unsupported algorithm such as SM2, a broken CMS
blob) gives a status with ``evaluated=False``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError

if TYPE_CHECKING:  # pyHanko is imported when a PDF is checked, not with this module
    from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
    from pyhanko.sign.validation.status import DocumentTimestampStatus, PdfSignatureStatus
    from pyhanko_certvalidator import ValidationContext

_MARKERS = (b"/ByteRange", b"/DocTimeStamp")
_CHUNK = 1 << 20
#: :func:`is_pdf` looks for the header in this many first bytes (what it decided is kept by digest in the home's
#: text cache, :mod:`repository.search.pdfheaders`, under a rule naming this window)
PDF_HEADER_BYTES = 1024


@dataclass(frozen=True)
class EmbeddedSignature:
    """The verification status of one signature field."""

    field: str
    intact: bool
    valid: bool
    trusted: bool
    signer: str | None  # subject common name of the signer's certificate
    signing_time: str | None  # ISO 8601: the timestamp token's time if any, else the signer's claim
    coverage: str  # pyHanko SignatureCoverageLevel name (ENTIRE_FILE, ENTIRE_REVISION, ...) or 'unknown'
    bottom_line: bool
    kind: str = "signature"  # or 'timestamp' (document timestamp)
    evaluated: bool = True
    problem: str = ""

    @property
    def status(self) -> str:
        """One word: ``valid``, ``untrusted`` (intact and valid, signer not trusted), ``broken`` or
        ``unverifiable`` (could not be evaluated)."""
        if not self.evaluated:
            return "unverifiable"
        if self.bottom_line:
            return "valid"
        if self.intact and self.valid and not self.trusted:
            return "untrusted"
        return "broken"

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "status": self.status}


def _unverifiable(field: str, problem: str, kind: str = "signature", signer: str | None = None) -> EmbeddedSignature:
    return EmbeddedSignature(field, False, False, False, signer, None, "unknown", False, kind, False, problem)


def _has_markers(path: Path) -> bool:
    """Whether the raw bytes show a signature dictionary (read in chunks, never the whole file at once)."""
    tail = b""
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            window = tail + chunk
            if any(m in window for m in _MARKERS):
                return True
            tail = window[-16:]
    return False


def is_pdf(path: Path | str) -> bool:
    """A PDF by its header, which readers accept anywhere in the first 1 KiB (ISO 32000 practice). Plain
    descriptors, no buffered file object: the index asks this of every file of an archive."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        return b"%PDF-" in os.read(fd, PDF_HEADER_BYTES)
    except OSError:
        return False
    finally:
        os.close(fd)


def load_trust_roots(paths: list[Path]) -> list:
    """Certificates (asn1crypto) from PEM or DER files; an unreadable file is a configuration error."""
    from pyhanko.keys import load_certs_from_pemder

    try:
        return list(load_certs_from_pemder([str(p) for p in paths]))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read trust roots {[str(p) for p in paths]}: {exc}") from None


def _common_name(cert: Any) -> str | None:  # an asn1crypto certificate (untyped)
    try:
        return cert.subject.native.get("common_name")
    except (AttributeError, ValueError, KeyError):
        return None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _from_status(field: str, kind: str, status: PdfSignatureStatus | DocumentTimestampStatus) -> EmbeddedSignature:
    """Our record of a pyHanko ``PdfSignatureStatus`` or ``DocumentTimestampStatus``."""
    timestamp = getattr(status, "timestamp_validity", None)
    moment = getattr(status, "timestamp", None) or (timestamp.timestamp if timestamp is not None else None)
    moment = moment or getattr(status, "signer_reported_dt", None)
    coverage = getattr(status, "coverage", None)
    bottom = getattr(status, "bottom_line", None)
    intact, valid, trusted = bool(status.intact), bool(status.valid), bool(status.trusted)
    return EmbeddedSignature(field, intact, valid, trusted, _common_name(status.signing_cert), _iso(moment),
                             coverage.name if coverage is not None else "unknown",
                             bool(bottom) if bottom is not None else intact and valid and trusted, kind)


def _validate_one(embedded: EmbeddedPdfSignature, context: Callable[[], ValidationContext]) -> EmbeddedSignature:
    """Validate one embedded signature; anything pyHanko cannot evaluate becomes an 'unverifiable' status."""
    from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
    from pyhanko.sign.validation.settings import KeyUsageConstraints

    status: PdfSignatureStatus | DocumentTimestampStatus
    field = str(embedded.field_name or "")
    kind = "timestamp" if str(embedded.sig_object_type) == "/DocTimeStamp" else "signature"
    try:
        if kind == "timestamp":
            status = validate_pdf_timestamp(embedded, validation_context=context())
        else:
            # Seals and signatures reach archives with digitalSignature or nonRepudiation: accept either.
            usage = KeyUsageConstraints(key_usage={"digital_signature", "non_repudiation"}, match_all_key_usages=False)
            status = validate_pdf_signature(embedded, signer_validation_context=context(), key_usage_settings=usage)
    except Exception as exc:  # pyHanko raises many types for undecodable or unsupported signatures
        return _unverifiable(field, f"cannot evaluate: {type(exc).__name__}: {exc}", kind, _signer_of(embedded))
    return _from_status(field, kind, status)


def _signer_of(embedded: EmbeddedPdfSignature) -> str | None:
    try:
        return _common_name(embedded.signer_cert)
    except Exception:  # the signer name is optional in this report
        return None


def verify_pdf_signatures(path: Path, trust_roots: list[Path], *,
                          validation_time: datetime | None = None) -> tuple[EmbeddedSignature, ...]:
    """The status of every signature and document timestamp in the PDF at ``path``.

    ``validation_time`` (default: now) is the moment at which certificates must be valid.
    Raises :class:`~repository.errors.ConfigError` only when a trust root file cannot be read.
    """
    return inspect_pdf(path, trust_roots, validation_time=validation_time)[0]


def inspect_pdf(path: Path, trust_roots: list[Path], *, validation_time: datetime | None = None
                ) -> tuple[tuple[EmbeddedSignature, ...], tuple[str, ...]]:
    """:func:`verify_pdf_signatures` and :func:`repository.formats.pdfactive.active_content` of one PDF, read
    once: ``((), ())`` for a file that is not a PDF."""
    path = Path(path)
    if not is_pdf(path):
        return (), ()
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko_certvalidator import ValidationContext

    from .pdfactive import active_content

    active: tuple[str, ...] = ()
    try:
        with open(path, "rb") as handle:
            reader = PdfFileReader(handle, strict=False)
            active = active_content(reader)
            embedded = list(reader.embedded_signatures)
            if not embedded:
                return (), active
            roots = load_trust_roots(list(trust_roots))

            def context() -> ValidationContext:
                return ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail",
                                         moment=validation_time)

            return tuple(_validate_one(sig, context) for sig in embedded), active
    except ConfigError:
        raise
    except Exception as exc:  # a malformed PDF is a finding, never a crash
        if _has_markers(path):
            return (_unverifiable("", f"malformed PDF: {type(exc).__name__}: {exc}"),), active
        return (), active
