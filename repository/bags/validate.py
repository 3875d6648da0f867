"""BagIt validation (RFC 8493, BagIt 1.0): every problem of a bag reported at once, each with a stable code.

Checks, by section of RFC 8493:

- §2.1.1 ``bagit.txt``: present (BAG001), two lines, UTF-8, no BOM (BAG002, BAG022), version 1.0 (0.97 read
  with BAG028, others BAG003), a known text encoding (BAG004);
- §2.1.2 ``data/`` present (BAG005); §2.1.3 payload manifests: at least one (BAG006), lines ``checksum
  path`` (BAG007), paths relative, '/'-separated, inside ``data/`` (BAG008), every entry exists (BAG009), every
  payload file in every manifest (BAG010), checksums match (BAG011), one entry per file (BAG012/BAG013);
- §2.2.1 tag manifests: never list payload files or tag manifests (BAG017), entries exist and match
  (BAG009/BAG011), tag files not listed (BAG023), one per payload algorithm (BAG020);
- §2.2.2 ``bag-info.txt``: present (BAG024), well-formed (BAG014), Payload-Oxum (BAG015/BAG016);
- §2.2.3 ``fetch.txt``: refused, an hsar SIP must be complete (BAG021); §2.4 algorithms (BAG018/BAG019);
- §3 "complete" and "valid"; §6 security: links and special files (BAG027), case and normalisation
  collisions (BAG025), empty payload directories (BAG026, see :mod:`.scan`).

Tag files are decoded in the declared encoding (BAG022). Digests are computed once, on both cores, for every
algorithm any manifest uses plus ``extra_algorithms``, and returned in :class:`BagResult` so ingest never hashes
twice; digests the receiver already computed (``known``) are reused, not re-read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..codes import Issue, Report, issue
from ..errors import IngestError
from ..fixity import HEX_LENGTHS, WEAK_ALGORITHMS, check_algorithms, iter_hash_jobs
from . import tagfiles
from .scan import Tree, display, is_payload, nfc, scan
from .tagfiles import BAG_INFO, BAGIT_TXT, FETCH_TXT, Entry

_OXUM = re.compile(r"^([0-9]+)\.([0-9]+)$")  # ASCII digits: \d would take full-width ones


@dataclass(frozen=True)
class FileFact:
    """Size and digests (algorithm -> lowercase hex) of one file in the bag."""

    size: int
    digests: dict[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class BagResult:
    """The verdict on one bag plus what was read from it (tags, digests), so later stages never re-read."""

    issues: tuple[Issue, ...]
    version: str | None
    encoding: str | None
    bag_info: tuple[tuple[str, str], ...]
    payload: dict[str, FileFact] = field(hash=False)
    tag_files: dict[str, FileFact] = field(hash=False)
    payload_manifest_algorithms: tuple[str, ...]
    tag_manifest_algorithms: tuple[str, ...]

    @property
    def valid(self) -> bool:
        """True when no issue is an error (warnings do not make a bag invalid)."""
        return self.report.valid

    @property
    def report(self) -> Report:
        return Report(self.issues)

    def codes(self) -> set[str]:
        return self.report.codes()

    def info(self, tag: str) -> list[str]:
        """Every value of bag-info tag ``tag``, in file order (labels compare case-insensitively)."""
        wanted = tag.casefold()
        return [value for label, value in self.bag_info if label.casefold() == wanted]


@dataclass
class _Manifest:
    name: str
    algorithm: str
    tag: bool
    usable: bool = True
    entries: dict[str, str] = field(default_factory=dict)  # resolved bag path -> expected digest


@dataclass
class _State:
    bag_dir: Path
    tree: Tree
    issues: list[Issue]
    version: str | None = None
    encoding: str | None = None
    codec: str = "utf-8"
    bag_info: list[tuple[str, str]] = field(default_factory=list)
    manifests: list[_Manifest] = field(default_factory=list)

    @property
    def strict(self) -> bool:
        return self.version not in tagfiles.LEGACY_VERSIONS

    def add(self, found: Issue) -> None:
        self.issues.append(found)


def validate_bag(
    bag_dir: Path,
    *,
    fixity: bool = True,
    known: Mapping[str, tuple[int, dict[str, str]]] | None = None,
    extra_algorithms: Sequence[str] = ("sha512",),
    workers: int = 2,
) -> BagResult:
    """Validate the bag at ``bag_dir`` against RFC 8493, gathering every problem.

    ``fixity=False`` checks completeness only (no file is read). ``known`` maps bag paths to ``(size,
    digests)`` already computed (by :func:`repository.bags.receive.receive`). Raises
    :class:`~repository.errors.IngestError` only when the bag cannot be evaluated (not a directory, an
    unreadable directory or file); a bad bag is never an exception.
    """
    bag_dir = Path(bag_dir)
    if not bag_dir.is_dir():
        raise IngestError(f"not a directory: {bag_dir}")
    extra = check_algorithms(extra_algorithms)
    tree = scan(bag_dir)
    state = _State(bag_dir, tree, list(tree.issues))
    try:
        _read_declaration(state)
        _read_bag_info(state)
        _check_structure(state)
        _read_manifests(state)
        _check_completeness(state)
        facts = _facts(state, known or {}, extra, workers, hash_files=fixity)
    except OSError as exc:
        raise IngestError(f"cannot read the bag at {bag_dir}: {exc}") from exc
    if fixity:
        _check_fixity(state, facts)
    _check_oxum(state)
    manifests = state.manifests
    return BagResult(
        issues=tuple(state.issues),
        version=state.version,
        encoding=state.encoding,
        bag_info=tuple(state.bag_info),
        payload={p: facts[p] for p in tree.payload_files},
        tag_files={p: facts[p] for p in tree.tag_files},
        payload_manifest_algorithms=tuple(sorted(m.algorithm for m in manifests if not m.tag)),
        tag_manifest_algorithms=tuple(sorted(m.algorithm for m in manifests if m.tag)),
    )


def _read_declaration(state: _State) -> None:
    if BAGIT_TXT not in state.tree.files:
        state.add(issue("BAG001", BAGIT_TXT))
        return
    data = tagfiles.read_declaration(state.bag_dir / BAGIT_TXT)
    if len(data) > tagfiles.MAX_DECLARATION_BYTES:
        state.add(issue("BAG002", BAGIT_TXT, detail=f"longer than {tagfiles.MAX_DECLARATION_BYTES} bytes"))
        return
    declared = tagfiles.parse_declaration(data)
    state.issues.extend(declared.issues)
    state.version, state.encoding = declared.version, declared.encoding
    # An unknown encoding (BAG004) is reported once; the other tag files are then read as UTF-8.
    state.codec = tagfiles.codec_for(declared.encoding or "") or "utf-8"


def _read_bag_info(state: _State) -> None:
    if BAG_INFO not in state.tree.files:
        if BAG_INFO not in state.tree.special:
            state.add(issue("BAG024", BAG_INFO))
        return
    try:
        parsed = tagfiles.parse_tags(tagfiles.iter_lines(state.bag_dir / BAG_INFO, state.codec), BAG_INFO,
                                     strict=state.strict)
    except UnicodeDecodeError:
        state.add(issue("BAG022", BAG_INFO, encoding=state.encoding or "UTF-8", file=BAG_INFO))
        return
    state.issues.extend(parsed.issues)
    state.bag_info = parsed.pairs


def _check_structure(state: _State) -> None:
    if "data" not in state.tree.dirs:
        state.add(issue("BAG005", "data/"))
    if FETCH_TXT in state.tree.files:
        state.add(issue("BAG021", FETCH_TXT))
    for name in sorted(p for p in state.tree.files if "/" not in p):
        kind = tagfiles.manifest_kind(name)
        if kind is not None:
            state.manifests.append(_Manifest(name, kind[1], kind[0]))
    if not any(not m.tag for m in state.manifests):
        state.add(issue("BAG006", ""))
    for manifest in state.manifests:
        if manifest.algorithm not in HEX_LENGTHS:
            manifest.usable = False
            state.add(issue("BAG018", manifest.name, algorithm=manifest.algorithm))
        elif manifest.algorithm in WEAK_ALGORITHMS:
            state.add(issue("BAG019", manifest.name, algorithm=manifest.algorithm))
    tag_algorithms = {m.algorithm for m in state.manifests if m.tag}
    for algorithm in sorted({m.algorithm for m in state.manifests if not m.tag and m.usable}):
        if algorithm not in tag_algorithms:
            state.add(issue("BAG020", f"tagmanifest-{algorithm}.txt", algorithm=algorithm))


def _read_manifests(state: _State) -> None:
    for manifest in state.manifests:
        if not manifest.usable:
            continue
        lines = tagfiles.iter_lines(state.bag_dir / manifest.name, state.codec)
        try:
            entries, problems = tagfiles.parse_manifest(
                lines, manifest.name, HEX_LENGTHS[manifest.algorithm], decode=state.strict)
        except UnicodeDecodeError:
            manifest.usable = False
            state.add(issue("BAG022", manifest.name, encoding=state.encoding or "UTF-8", file=manifest.name))
            continue
        state.issues.extend(problems)
        for entry in entries:
            _add_entry(state, manifest, entry)


def _scope_problem(manifest: _Manifest, path: str) -> str | None:
    """BAG008/BAG017 for an entry that is unsafe or in the wrong kind of manifest."""
    if tagfiles.path_problem(path) is not None:
        return "BAG008"
    if not manifest.tag:
        return None if is_payload(path) else "BAG008"
    return "BAG017" if is_payload(path) or tagfiles.is_tag_manifest(path) else None


def _add_entry(state: _State, manifest: _Manifest, entry: Entry) -> None:
    shown = display(entry.path)
    code = _scope_problem(manifest, entry.path)
    if code == "BAG008":
        state.add(issue("BAG008", shown, entry=shown, manifest=manifest.name, line=entry.line))
        return
    if code == "BAG017":
        state.add(issue("BAG017", shown, manifest=manifest.name))
        return
    resolved = state.tree.resolve(entry.path)
    key = resolved if resolved is not None else nfc(entry.path)
    if key in manifest.entries:
        same = manifest.entries[key] == entry.digest
        state.add(issue("BAG013" if same else "BAG012", shown, manifest=manifest.name, line=entry.line))
        return
    if resolved is None:
        manifest.entries[key] = entry.digest
        if not state.tree.behind_link(entry.path):
            state.add(issue("BAG009", shown, manifest=manifest.name))
        return
    manifest.entries[resolved] = entry.digest


def _check_completeness(state: _State) -> None:
    tree = state.tree
    tag_files = [p for p in tree.tag_files if not tagfiles.is_tag_manifest(p)]
    for manifest in state.manifests:
        if not manifest.usable:
            continue
        if manifest.tag:
            for path in tag_files:
                if path not in manifest.entries:
                    state.add(issue("BAG023", display(path), manifest=manifest.name))
        else:
            for path in tree.payload_files:
                if path not in manifest.entries:
                    state.add(issue("BAG010", display(path), manifest=manifest.name))


def _needed(state: _State, extra: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    payload_algs = [m.algorithm for m in state.manifests if m.usable and not m.tag]
    tag_algs = [m.algorithm for m in state.manifests if m.usable and m.tag]
    for_payload = check_algorithms([*payload_algs, *extra])
    for_tags = check_algorithms([*tag_algs, *extra])
    return {p: for_payload if is_payload(p) else for_tags for p in state.tree.files}


def _facts(state: _State, known: Mapping[str, tuple[int, dict[str, str]]], extra: tuple[str, ...],
           workers: int, *, hash_files: bool) -> dict[str, FileFact]:
    """Size and digests of every regular file: from ``known`` where it fits, else read once (if hashing)."""
    facts: dict[str, FileFact] = {}
    jobs: list[tuple[Path, tuple[str, ...], int]] = []
    paths: dict[Path, str] = {}
    for path, algorithms in _needed(state, extra).items():
        size = state.tree.files[path]
        have = known.get(path)
        digests = {a: d.lower() for a, d in have[1].items()} if have and have[0] == size else {}
        facts[path] = FileFact(size, digests)
        missing = tuple(a for a in algorithms if a not in digests)
        if hash_files and missing:
            full = state.bag_dir / path
            jobs.append((full, missing, size))  # the size walked: a batching hint (what is read counts)
            paths[full] = path
    for full, outcome in iter_hash_jobs(jobs, workers):
        path = paths[full]
        if isinstance(outcome, OSError):
            raise IngestError(f"cannot read {display(path)}: {outcome.strerror or outcome}") from outcome
        facts[path] = FileFact(outcome[0], {**facts[path].digests, **outcome[1]})
    return facts


def _check_fixity(state: _State, facts: dict[str, FileFact]) -> None:
    for manifest in state.manifests:
        if not manifest.usable:
            continue
        for path, expected in manifest.entries.items():
            fact = facts.get(path)
            found = fact.digests.get(manifest.algorithm) if fact else None
            if found is not None and found != expected:
                state.add(issue("BAG011", display(path), algorithm=manifest.algorithm, expected=expected,
                                found=found, manifest=manifest.name))


def _check_oxum(state: _State) -> None:
    octets, streams = state.tree.payload_bytes()
    for value in (v for label, v in state.bag_info if label.casefold() == "payload-oxum"):
        match = _OXUM.match(value.strip())
        if match is None:
            state.add(issue("BAG016", BAG_INFO, value=value))
        elif (int(match.group(1)), int(match.group(2))) != (octets, streams):
            state.add(issue("BAG015", BAG_INFO, declared=value.strip(), found=f"{octets}.{streams}"))
