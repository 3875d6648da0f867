"""BagIt validation (RFC 8493, BagIt 1.0): every problem of a bag reported at once, each with a stable code.

Checks, by section of RFC 8493:

- §2.1.1 ``bagit.txt``: present (BAG001), two lines, UTF-8, no BOM (BAG002, BAG022), version 1.0 (the drafts
  0.93-0.97 read by their own rules, :mod:`.versions`, with BAG028; others BAG003), a known text encoding
  (BAG004);
- §2.1.2 ``data/`` present (BAG005); §2.1.3 payload manifests: at least one (BAG006), lines ``checksum
  path`` (BAG007), paths relative, '/'-separated, inside ``data/`` (BAG008), every entry exists (BAG009), every
  payload file in every manifest (BAG010), checksums match (BAG011), one entry per file (BAG012/BAG013);
- §2.2.1 tag manifests: never list payload files or tag manifests (BAG017), entries exist and match
  (BAG009/BAG011), tag files not listed (BAG023), one per payload algorithm (BAG020);
- §2.2.2 ``bag-info.txt`` (``package-info.txt`` before 0.96): present (BAG024), well-formed (BAG014),
  Payload-Oxum (BAG015/BAG016);
- §2.2.3 ``fetch.txt`` (:mod:`.fetch`): allowed; a listed file not yet fetched makes the bag incomplete
  (BAG029, "holey"), not BAG009; refusing fetch.txt is policy (BAG021, PRF008 in the full SIP validation);
- §2.4 algorithms (BAG018; md5 and sha1 SHOULD NOT be used: BAG019, a warning);
- §3 "complete" and "valid"; §6 security: links and special files (BAG027), names that differ only in case or
  normalisation (BAG025, a warning: §6.2 "should"), empty payload directories (BAG026, see :mod:`.scan`);
  files an operating system drops into folders (``.DS_Store``, ``Thumbs.db``: BAG030, a warning; left out of
  the bag's content when no manifest lists them).

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
from .fetch import FetchEntry, parse_fetch
from .scan import Tree, display, is_os_file, is_payload, nfc, scan
from .tagfiles import BAG_INFO, BAGIT_TXT, FETCH_TXT, Entry
from .versions import VersionRules, rules_for

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
    holes: tuple[str, ...] = ()  # payload paths fetch.txt lists that are not present (BAG029)

    @property
    def complete(self) -> bool:
        """RFC 8493 §3: every file a manifest or fetch.txt names is present (a holey bag is not complete)."""
        return not self.holes and "BAG009" not in self.codes()

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
    fetched: dict[str, FetchEntry] = field(default_factory=dict)  # NFC path -> entry
    holes: list[str] = field(default_factory=list)
    ignored: set[str] = field(default_factory=set)  # OS files no manifest lists: not the bag's content

    @property
    def rules(self) -> VersionRules:
        return rules_for(self.version)

    @property
    def strict(self) -> bool:
        return self.rules.strict_whitespace

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
        _check_fetched(state)
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
        payload={p: facts[p] for p in tree.payload_files if p not in state.ignored},
        tag_files={p: facts[p] for p in tree.tag_files if p not in state.ignored},
        payload_manifest_algorithms=tuple(sorted(m.algorithm for m in manifests if not m.tag)),
        tag_manifest_algorithms=tuple(sorted(m.algorithm for m in manifests if m.tag)),
        holes=tuple(state.holes),
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
    names = state.rules.info_files
    name = next((n for n in names if n in state.tree.files), None)
    if name is None:
        if not any(n in state.tree.special for n in names):
            state.add(issue("BAG024", names[0]))
        return
    try:
        parsed = tagfiles.parse_tags(tagfiles.iter_lines(state.bag_dir / name, state.codec), name,
                                     strict=state.strict)
    except UnicodeDecodeError:
        state.add(issue("BAG022", name, encoding=state.encoding or "UTF-8", file=name))
        return
    state.issues.extend(parsed.issues)
    state.bag_info = parsed.pairs


def _check_structure(state: _State) -> None:
    if "data" not in state.tree.dirs:
        state.add(issue("BAG005", "data/"))
    if FETCH_TXT in state.tree.files:
        _read_fetch(state)
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
                lines, manifest.name, HEX_LENGTHS[manifest.algorithm], decode=state.rules.percent_decoding)
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
        if not state.tree.behind_link(entry.path) and key not in state.fetched:  # not fetched yet: BAG029
            state.add(issue("BAG009", shown, manifest=manifest.name))
        return
    manifest.entries[resolved] = entry.digest


def _read_fetch(state: _State) -> None:
    try:
        parsed = parse_fetch(tagfiles.iter_lines(state.bag_dir / FETCH_TXT, state.codec),
                             decode=state.rules.percent_decoding)
    except UnicodeDecodeError:
        state.add(issue("BAG022", FETCH_TXT, encoding=state.encoding or "UTF-8", file=FETCH_TXT))
        return
    state.issues.extend(parsed.issues)
    for entry in parsed.entries:
        state.fetched.setdefault(nfc(entry.path), entry)


def _check_fetched(state: _State) -> None:
    """BAG029 for each file fetch.txt lists that is not (yet) in the bag: the bag is holey, not complete."""
    for key, entry in sorted(state.fetched.items()):
        if state.tree.resolve(entry.path) is None and not state.tree.behind_link(entry.path):
            state.holes.append(key)
            state.add(issue("BAG029", display(entry.path), url=entry.url))


def _check_completeness(state: _State) -> None:
    tree = state.tree
    listed = {path for m in state.manifests if m.usable for path in m.entries}
    for path in (p for p in tree.files if is_os_file(p)):
        state.add(issue("BAG030", display(path), name=path.rsplit("/", 1)[-1]))
        if path not in listed:
            state.ignored.add(path)
    tag_files = [p for p in tree.tag_files if not tagfiles.is_tag_manifest(p) and p not in state.ignored]
    for manifest in state.manifests:
        if not manifest.usable:
            continue
        if manifest.tag:
            for path in tag_files:
                if path not in manifest.entries:
                    state.add(issue("BAG023", display(path), manifest=manifest.name))
        else:
            for path in tree.payload_files:
                if path not in manifest.entries and path not in state.ignored:
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
    """Payload-Oxum counts the complete payload: OS files no manifest lists are not in it, files still to be
    fetched are (by their fetch.txt length; when one is unknown, the count cannot be checked)."""
    octets, streams = state.tree.payload_bytes()
    for path in state.ignored:
        if is_payload(path):
            octets, streams = octets - state.tree.files[path], streams - 1
    lengths = [state.fetched[hole].length for hole in state.holes]
    if any(length is None for length in lengths):
        return
    octets, streams = octets + sum(n for n in lengths if n is not None), streams + len(lengths)
    for value in (v for label, v in state.bag_info if label.casefold() == "payload-oxum"):
        match = _OXUM.match(value.strip())
        if match is None:
            state.add(issue("BAG016", BAG_INFO, value=value))
        elif (int(match.group(1)), int(match.group(2))) != (octets, streams):
            state.add(issue("BAG015", BAG_INFO, declared=value.strip(), found=f"{octets}.{streams}"))
