"""Format policy (格式策略): which identified formats this repository preserves, accepts or refuses.

Implements the usability and security checks of DA/T 70-2018 (可用性: formats open and non-proprietary,
no encryption; 安全性: no executable content) for the format step of ingest. The policy is a data file
the archive can edit (``repository/data/format_policy.json``, or the file named by ``formats.policy``);
see its ``_comment`` for the fields. :meth:`FormatPolicy.classify` turns a
:class:`~repository.formats.identify.FormatFact` into a :class:`PolicyDecision`, and
:func:`format_issues` turns both (and the embedded signature statuses) into coded issues
FMT001-FMT007 from ``codes.json``.

Rules, in order: an identification that timed out, an encrypted file and an unidentified file take the
policy's ``default``/``encrypted`` levels; a file whose candidates include a refused format is refused
("refused wins"); an extension-only identification takes ``extension_only`` unless its PUID is in
``extension_only_accepted``; otherwise the class of the leading PUID, or ``default``. A broken embedded
signature refuses the file when ``broken_signature`` is ``refuse``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..codes import Issue, Severity, issue
from ..config import Config
from ..errors import ConfigError
from ..resources import DATA_DIR

if TYPE_CHECKING:  # types only: the audit's format check loads a policy without the identification stack
    from .identify import FormatFact
    from .pdfsig import EmbeddedSignature

BUNDLED_POLICY = DATA_DIR / "format_policy.json"
LEVELS = ("preservation", "acceptable", "refused")
BROKEN_SIGNATURE_ACTIONS = ("warn", "refuse")


@dataclass(frozen=True)
class PolicyDecision:
    """What the policy says about one file. ``cause`` names the rule that decided it."""

    level: str  # preservation | acceptable | refused
    reason: str
    cause: str = "format"  # format | default | extension_only | encrypted | timeout | signature
    broken_signature: str = "warn"  # the policy's action for broken embedded signatures

    @property
    def accepted(self) -> bool:
        return self.level != "refused"


def _level(value: object, where: str) -> str:
    if value not in LEVELS:
        raise ConfigError(f"format policy: {where} must be one of {', '.join(LEVELS)}, not {value!r}")
    return str(value)


@dataclass(frozen=True)
class FormatPolicy:
    """A loaded format policy: a level and a reason per PUID, plus the rules for everything else."""

    classes: dict[str, tuple[str, str]]  # puid -> (level, reason)
    default: str = "refused"
    extension_only: str = "refused"
    extension_only_accepted: frozenset[str] = frozenset()
    encrypted: str = "refused"
    broken_signature: str = "warn"
    source: str = field(default="bundled", compare=False)
    executable: frozenset[str] = frozenset()  # PUIDs of classes marked "executable": programs, scripts, macros

    @classmethod
    def load(cls, path: Path | None = None, *, broken_signature: str | None = None) -> FormatPolicy:
        """Read a policy file (the bundled one if ``path`` is None); malformed files raise ConfigError."""
        source = Path(path) if path else BUNDLED_POLICY
        try:
            raw = json.loads(source.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"cannot read format policy {source}: {exc}") from None
        if not isinstance(raw, dict) or not isinstance(raw.get("classes"), list):
            raise ConfigError(f"format policy {source}: expected an object with a 'classes' list")
        action = broken_signature or raw.get("broken_signature", "warn")
        if action not in BROKEN_SIGNATURE_ACTIONS:
            raise ConfigError(f"format policy {source}: broken_signature must be warn or refuse, not {action!r}")
        executable = frozenset(p for c in raw["classes"] if isinstance(c, dict) and c.get("executable") is True
                               for p in c.get("puids", ()))
        return cls(cls._classes(raw["classes"], source), _level(raw.get("default", "refused"), "default"),
                   _level(raw.get("extension_only", "refused"), "extension_only"),
                   frozenset(raw.get("extension_only_accepted", ())),
                   _level(raw.get("encrypted", "refused"), "encrypted"), action, str(source), executable)

    @staticmethod
    def _classes(entries: list, source: Path) -> dict[str, tuple[str, str]]:
        table: dict[str, tuple[str, str]] = {}
        for n, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("puids"), dict) or not entry.get("reason"):
                raise ConfigError(f"format policy {source}: class {n} needs a level, a reason and puids")
            level = _level(entry.get("level"), f"class {n} level")
            for puid in entry["puids"]:
                if puid in table:
                    raise ConfigError(f"format policy {source}: {puid} is listed twice")
                table[puid] = (level, str(entry["reason"]))
        return table

    @classmethod
    def from_config(cls, config: Config) -> FormatPolicy:
        """The policy named by ``formats.policy`` (bundled if empty), with ``formats.broken_signature``."""
        path = config.path("formats.policy") if config["formats.policy"] else None
        return cls.load(path, broken_signature=config["formats.broken_signature"])

    def is_executable(self, puid: str | None) -> bool:
        """Whether ``puid`` is in a class the policy marks as executable content (DA/T 70 安全性)."""
        return puid in self.executable

    def level_of(self, puid: str) -> str | None:
        entry = self.classes.get(puid)
        return entry[0] if entry else None

    def classify(self, fact: FormatFact, signatures: Iterable[EmbeddedSignature] = ()) -> PolicyDecision:
        """The decision for one identified file (and its embedded signatures, if any)."""
        decision = self._classify_format(fact)
        if decision.accepted and self.broken_signature == "refuse":
            broken = [s for s in signatures if s.status == "broken"]
            if broken:
                names = ", ".join(s.field or "?" for s in broken)
                return PolicyDecision("refused", f"embedded signature broken: {names}", "signature",
                                      self.broken_signature)
        return decision

    def _decide(self, level: str, reason: str, cause: str) -> PolicyDecision:
        return PolicyDecision(level, reason, cause, self.broken_signature)

    def _classify_format(self, fact: FormatFact) -> PolicyDecision:
        if fact.timed_out:
            return self._decide(self.default, "format identification timed out", "timeout")
        if fact.encrypted:
            return self._decide(self.encrypted, "encrypted or password-protected", "encrypted")
        if fact.puid is None:
            return self._decide(self.default, f"format not identified ({fact.basis})", "default")
        for puid in fact.candidates or (fact.puid,):
            if self.level_of(puid) == "refused":
                return self._decide("refused", self.classes[puid][1], "format")
        if fact.method == "extension" and fact.puid not in self.extension_only_accepted:
            return self._decide(self.extension_only, "identified by file extension only", "extension_only")
        if fact.puid in self.classes:
            level, reason = self.classes[fact.puid]
            return self._decide(level, reason, "format")
        return self._decide(self.default, f"{fact.puid} is not in the format policy", "default")


def _signature_issues(rel: str, signatures: Iterable[EmbeddedSignature], action: str) -> list[Issue]:
    found = []
    for sig in signatures:
        name = sig.field or "?"
        if sig.status == "broken":
            detail = f"intact={sig.intact}, valid={sig.valid}, coverage={sig.coverage}"
            severity = Severity.ERROR if action == "refuse" else Severity.WARNING
            found.append(issue("FMT006", rel, severity=severity, field=name, detail=detail))
        elif sig.status == "unverifiable":
            found.append(issue("FMT006", rel, severity=Severity.WARNING, field=name, detail=sig.problem))
        elif sig.status == "untrusted":
            found.append(issue("FMT007", rel, field=name, signer=sig.signer or "?"))
    return found


def format_issues(path: str | Path, fact: FormatFact, decision: PolicyDecision,
                  sigs: Iterable[EmbeddedSignature] = (), *, timeout_seconds: float | None = None) -> list[Issue]:
    """Coded issues (FMT001-FMT007) for one file, from its format fact, policy decision and signatures.

    Unidentified files (FMT001) are errors when the policy refuses them, warnings when it accepts them;
    FMT006 is an error when the policy refuses broken signatures, else a warning.
    """
    rel = str(path)
    found: list[Issue] = []
    if decision.cause == "timeout":
        found.append(issue("FMT005", rel, seconds=timeout_seconds if timeout_seconds is not None else "?"))
    elif fact.puid is None:
        severity = Severity.ERROR if not decision.accepted else Severity.WARNING
        found.append(issue("FMT001", rel, severity=severity, basis=fact.basis))
    elif decision.cause == "encrypted":
        found.append(issue("FMT003", rel, puid=fact.puid))
    elif not decision.accepted and decision.cause in ("format", "default", "extension_only"):
        found.append(issue("FMT002", rel, puid=fact.puid, name=fact.name, reason=decision.reason))
    if fact.ambiguous:
        found.append(issue("FMT004", rel, candidates=", ".join(fact.candidates)))
    return found + _signature_issues(rel, sigs, decision.broken_signature)
