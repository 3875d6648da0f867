"""BagIt Profile conformance (bagit-profiles specification 1.3), checked with the bagit-profile library.

The profile for a SIP is chosen by its ``Package-Type`` bag-info tag (``household-sip``, ``unit-sip``,
``supplement-sip``) from ``profiles/<package type>.json``. The library's checks are run one by one so that
every failure is reported, not only the first; ``Bag-Info`` constraints are checked tag by tag here with the
library's semantics (required, values, repeatable) for the same reason. Our profiles allow sha256 and sha512
manifests; "at least one tag manifest" is a rule the profile format cannot say, so it is checked here too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import bagit_profile

from ..codes import Issue, issue
from ..resources import PROFILES_DIR

PACKAGE_TYPES = ("household-sip", "unit-sip", "supplement-sip")


class _QuietProfile(bagit_profile.Profile):
    """The library's Profile without its logging (library code never prints)."""

    def _fail(self, msg: str) -> None:
        raise bagit_profile.ProfileValidationError(msg)

    def _warn(self, msg: str) -> None:
        return None


@dataclass
class _BagView:
    """The subset of ``bagit.Bag`` that bagit-profile reads, built from our own parse of the bag."""

    path: str
    info: dict[str, str | list[str]]
    tags: dict[str, str]
    _manifests: list[str] = field(default_factory=list)
    _tagmanifests: list[str] = field(default_factory=list)

    def manifest_files(self) -> list[str]:
        return self._manifests

    def tagmanifest_files(self) -> list[str]:
        return self._tagmanifests

    def __str__(self) -> str:
        return self.path


@cache
def load_profile(package_type: str) -> dict:
    """The profile JSON for a package type; raises KeyError for an unknown type."""
    if package_type not in PACKAGE_TYPES:
        raise KeyError(package_type)
    return json.loads((PROFILES_DIR / f"{package_type}.json").read_text("utf-8"))


def profile_uri(package_type: str) -> str:
    return load_profile(package_type)["BagIt-Profile-Info"]["BagIt-Profile-Identifier"]


def _info_dict(bag_info: Sequence[tuple[str, str]]) -> dict[str, str | list[str]]:
    info: dict[str, str | list[str]] = {}
    for key, value in bag_info:
        if key in info:
            prev = info[key]
            info[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            info[key] = value
    return info


def _bag_info_issues(profile: Mapping, info: Mapping[str, str | list[str]]) -> list[Issue]:
    found: list[Issue] = []
    uri = profile["BagIt-Profile-Info"]["BagIt-Profile-Identifier"]
    for tag, rule in profile["Bag-Info"].items():
        value = info.get(tag)
        blank = value is not None and all(not str(v).strip() for v in (value if isinstance(value, list) else [value]))
        if value is None or (blank and rule.get("required")):  # a required tag must say something
            if rule.get("required"):
                found.append(issue("PRF001", "bag-info.txt", tag=tag))
            continue
        if rule.get("repeatable") is False and isinstance(value, list):
            found.append(issue("PRF003", "bag-info.txt", tag=tag))
            continue
        allowed = [uri] if tag == "BagIt-Profile-Identifier" else rule.get("values")
        values = value if isinstance(value, list) else [value]
        for v in values:
            if allowed and v not in allowed:
                found.append(issue("PRF002", "bag-info.txt", tag=tag, value=v))
    return found


# Library check -> our code. Bag-Info is checked above, tag by tag.
_CHECKS: tuple[tuple[str, str], ...] = (
    ("validate_manifests_required", "PRF004"),
    ("validate_tag_manifests_required", "PRF006"),
    ("validate_payload_manifests_allowed", "PRF005"),
    ("validate_tag_manifests_allowed", "PRF005"),
    ("validate_tag_files_required", "PRF007"),
    ("validate_allow_fetch", "PRF008"),
    ("validate_accept_bagit_version", "PRF009"),
    ("validate_tag_files_allowed", "PRF011"),
)


def _strip_bag_path(message: str, bag_path: str) -> str:
    return message.replace(bag_path + "/", "").replace(bag_path + ": ", "").replace(bag_path, "")


def validate_profile(
    bag_dir: Path,
    *,
    version: str,
    bag_info: Sequence[tuple[str, str]],
    payload_algorithms: Sequence[str],
    tag_algorithms: Sequence[str],
    profile: Mapping | None = None,
) -> list[Issue]:
    """Check a bag (already parsed by :mod:`repository.bags.validate`) against the profile its Package-Type names
    (or against ``profile``, a profile document given by the caller)."""
    info = _info_dict(bag_info)
    if profile is None:
        package_type = info.get("Package-Type")
        if not isinstance(package_type, str) or package_type not in PACKAGE_TYPES:
            return [issue("PRF010", "bag-info.txt", value=package_type or "—")]
        profile = load_profile(package_type)
    checker = _QuietProfile(profile["BagIt-Profile-Info"]["BagIt-Profile-Identifier"], profile=dict(profile))
    view = _BagView(
        path=str(bag_dir),
        info=info,
        tags={"BagIt-Version": version},
        _manifests=[str(bag_dir / f"manifest-{a}.txt") for a in payload_algorithms],
        _tagmanifests=[str(bag_dir / f"tagmanifest-{a}.txt") for a in tag_algorithms],
    )
    found = _bag_info_issues(profile, info)
    for method, code in _CHECKS:
        check: Callable[[object], object] = getattr(checker, method)
        try:
            check(view)
        except bagit_profile.ProfileValidationError as exc:
            found.append(issue(code, "", detail=_strip_bag_path(str(exc.value), str(bag_dir))))
    allowed_tag = profile.get("Tag-Manifests-Allowed") or []
    if not any(a in allowed_tag for a in tag_algorithms):
        found.append(issue("PRF006", "", detail="tagmanifest-sha256.txt | tagmanifest-sha512.txt"))
    return found


def check_profile_documents() -> list[str]:
    """Problems in the shipped profile JSON files themselves (used by tests)."""
    problems = []
    for package_type in PACKAGE_TYPES:
        try:
            _QuietProfile(profile_uri(package_type), profile=load_profile(package_type))
        except bagit_profile.ProfileValidationError as exc:
            problems.append(f"{package_type}: {exc.value}")
    return problems
