"""What each BagIt version lets a bag do: RFC 8493 (BagIt 1.0) and the drafts 0.93-0.97 before it.

A reader honours the rules of the version a bag declares (RFC 8493 §2.1.1, "BagIt-Version"); the repository's
own policy (which versions it ingests) is the profile's ``Accept-BagIt-Version`` (PRF009), not this table.

======== ================================ ============================= ======================= ==============
version  bag metadata file                ``Tag-File-Character-Encoding`` ``label: value`` spacing manifest paths
======== ================================ ============================= ======================= ==============
0.93-95  ``package-info.txt`` [#]_         optional (UTF-8 if absent)    any whitespace          as written
0.96-97  ``bag-info.txt``                  required                      any whitespace          as written
1.0      ``bag-info.txt``                  required                      ``": "`` exactly        ``%0A %0D %25``
======== ================================ ============================= ======================= ==============

.. [#] drafts 0.93-0.95 name it ``package-info.txt``; a ``bag-info.txt`` in such a bag is read too.

Every version's manifest line is ``checksum whitespace path``. Lines written by ``md5sum``/``sha256sum`` in
binary mode (``checksum *path``, one space then ``*``) and paths written as ``./data/...`` are what older
tools produced (bagit-python, bagit-java read both); both are read as the path they name. Every version is
read; one older than 1.0 is reported with a warning (BAG028).
"""

from __future__ import annotations

from dataclasses import dataclass

CURRENT_VERSION = "1.0"
BAG_INFO = "bag-info.txt"
PACKAGE_INFO = "package-info.txt"


@dataclass(frozen=True)
class VersionRules:
    """How a bag of one BagIt version is read."""

    version: str
    info_files: tuple[str, ...]  # the bag metadata file names, preferred first
    encoding_line_required: bool
    strict_whitespace: bool  # 1.0: exactly one space after the colon, none before it
    percent_decoding: bool  # 1.0: %0A, %0D, %25 in manifest paths

    @property
    def legacy(self) -> bool:
        return self.version != CURRENT_VERSION


_DRAFT_EARLY = (PACKAGE_INFO, BAG_INFO)
RULES: dict[str, VersionRules] = {
    "0.93": VersionRules("0.93", _DRAFT_EARLY, False, False, False),
    "0.94": VersionRules("0.94", _DRAFT_EARLY, False, False, False),
    "0.95": VersionRules("0.95", _DRAFT_EARLY, False, False, False),
    "0.96": VersionRules("0.96", (BAG_INFO,), True, False, False),
    "0.97": VersionRules("0.97", (BAG_INFO,), True, False, False),
    CURRENT_VERSION: VersionRules(CURRENT_VERSION, (BAG_INFO,), True, True, True),
}
LEGACY_VERSIONS = frozenset(v for v, rules in RULES.items() if rules.legacy)


def rules_for(version: str | None) -> VersionRules:
    """The rules of ``version``; an unknown or missing version (already BAG003 or BAG001) is read as 1.0."""
    return RULES.get(version or "", RULES[CURRENT_VERSION])
