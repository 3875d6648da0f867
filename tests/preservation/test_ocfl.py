"""OCFL 1.1 store: versions, deduplication, validation by ocfl-py, crash safety, optimistic concurrency."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import multiprocessing
import os
import signal
from datetime import UTC, datetime
from pathlib import Path

import pytest

from repository.errors import PreservationError
from repository.preservation import ocfl
from repository.preservation.ocfl import HeadChangedError, OcflStore, SourceFile, validate_with_ocfl_py
from repository.preservation.ocfl_layout import LAYOUT_0004
from repository.preservation.ocfl_txn import Transaction

if importlib.util.find_spec("ocfl") is None:  # not importorskip: importing ocfl-py reconfigures logging
    pytest.skip("ocfl-py (test extra) validates the store", allow_module_level=True)

OBJ = "urn:hsar:household:110101001-2024-0001"
USER = ("hsar ingest", "archivist@example.org")
WHEN = datetime(2024, 5, 1, 8, 30, tzinfo=UTC)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def store(home: Path) -> OcflStore:
    return OcflStore.init(home / "storage")


def sources(directory: Path, contents: dict[str, bytes]) -> dict[str, SourceFile]:
    """Write each logical path's bytes under ``directory`` and describe them as the receiver would."""
    result = {}
    for logical, data in contents.items():
        path = directory / logical
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        result[logical] = SourceFile(path, hashlib.sha512(data).hexdigest(), len(data))
    return result


def add(store: OcflStore, home: Path, contents: dict[str, bytes], **kwargs) -> ocfl.VersionResult:
    src = home / "sip" / str(len(list((home / "sip").glob("*"))) if (home / "sip").exists() else 0)
    kwargs.setdefault("message", "ingest")
    kwargs.setdefault("created", WHEN)
    return store.add_version(OBJ, sources(src, contents), staging=home / "staging", user=USER, **kwargs)


def assert_valid(store: OcflStore) -> None:
    assert validate_with_ocfl_py(store.root, warnings=True) == []
    for object_root in store.iter_object_roots():
        assert validate_with_ocfl_py(object_root, warnings=True) == []


def staging_leftovers(home: Path) -> list[str]:
    staging = home / "staging"
    return sorted(p.name for p in staging.iterdir() if p.name.startswith("ocfl-")) if staging.exists() else []


V1 = {"a.txt": b"alpha", "b.txt": b"beta", "c.txt": b"alpha", "d.txt": b"delta"}
V2 = {"a.txt": b"alpha 2", "b.txt": b"beta", "d.txt": b"delta", "e.txt": b"epsilon"}


# ------------------------------------------------------------------------------------------ storage root


def test_init_is_idempotent_and_a_0004_root_keeps_layout_0004(home: Path):
    root = home / "storage"
    OcflStore.init(root, layout=LAYOUT_0004)
    store = OcflStore.init(root)  # the default (0003) is for new roots: an existing root keeps its layout
    assert (root / "0=ocfl_1.1").read_text() == "ocfl_1.1\n"
    assert (
        json.loads((root / "ocfl_layout.json").read_text())["extension"]
        == "0004-hashed-n-tuple-storage-layout"
    )
    config = json.loads((root / "extensions/0004-hashed-n-tuple-storage-layout/config.json").read_text())
    assert config == {"extensionName": "0004-hashed-n-tuple-storage-layout", "digestAlgorithm": "sha256",
                      "tupleSize": 3, "numberOfTuples": 3, "shortObjectRoot": False}  # fmt: skip
    # the extension's own example mappings
    assert store.object_root("object-01") == root / "3c0/ff4/240" / (
        "3c0ff4240c1e116dba14c7627f2319b58aa3d77606d0d90dfc6161608ac987d4"
    )
    assert store.layout.object_path("..hor/rib:le-$id").startswith(
        "487/326/d8c/487326d8c2a3c0b885e23da1469b4d66"
    )
    assert_valid(store)


def test_init_refuses_a_foreign_directory(home: Path):
    (home / "other").mkdir()
    (home / "other" / "notes.txt").write_text("x")
    with pytest.raises(PreservationError):
        OcflStore.init(home / "other")
    with pytest.raises(PreservationError):
        OcflStore(home / "other")


def test_validator_is_not_vacuous(store: OcflStore, home: Path):
    add(store, home, V1)
    root = store.object_root(OBJ)
    (root / "v1/content/a.txt").write_bytes(b"bit rot")
    (root / "v1/content/stray.txt").write_bytes(b"unexpected")
    (store.root / "fff/eee").mkdir(parents=True)
    errors = "\n".join(validate_with_ocfl_py(store.root))
    for code in ("E092a", "E023a", "E073"):
        assert f"[{code}]" in errors
    moved = store.root / "000/000/000" / root.name
    moved.parent.mkdir(parents=True)
    root.rename(moved)
    assert any("(E083)" in e for e in validate_with_ocfl_py(store.root))


# -------------------------------------------------------------------------------------- versions & dedup


def test_versions_deduplicate_and_identical_state_writes_nothing(store: OcflStore, home: Path):
    r1 = add(store, home, V1, expected_head=None)
    assert (r1.version, r1.previous, r1.unchanged) == ("v1", None, False)
    assert r1.new_content == ("v1/content/a.txt", "v1/content/b.txt", "v1/content/d.txt")  # c.txt = a.txt
    r2 = add(store, home, V2, message="supplement", expected_head="v1")
    assert (r2.version, r2.previous) == ("v2", "v1")
    assert r2.new_content == ("v2/content/a.txt", "v2/content/e.txt")
    assert (r2.added, r2.modified, r2.removed) == (("e.txt",), ("a.txt",), ("c.txt",))
    root = store.object_root(OBJ)
    assert store.content_path(OBJ, "b.txt") == root / "v1/content/b.txt"  # unchanged: stored once
    assert store.content_path(OBJ, "a.txt") == root / "v2/content/a.txt"
    assert store.content_path(OBJ, "c.txt", "v1") == root / "v1/content/a.txt"
    assert not (root / "v2/content/b.txt").exists() and not (root / "v2/content/d.txt").exists()
    with store.open_file(OBJ, "a.txt", "v1") as fh:
        assert fh.read() == b"alpha"
    assert store.state(OBJ) == {k: hashlib.sha512(v).hexdigest() for k, v in V2.items()}
    assert set(store.content_files(OBJ)) == {"v1/content/a.txt", "v1/content/b.txt", "v1/content/d.txt",
                                             "v2/content/a.txt", "v2/content/e.txt"}  # fmt: skip
    infos = store.versions(OBJ)
    assert [(i.number, i.name, i.message) for i in infos] == [(1, "v1", "ingest"), (2, "v2", "supplement")]
    assert infos[1].created == WHEN and infos[1].user == ("hsar ingest", "mailto:archivist@example.org")
    assert (root / "v1/inventory.json").read_bytes() != (root / "inventory.json").read_bytes()
    assert (root / "v2/inventory.json").read_bytes() == (root / "inventory.json").read_bytes()
    assert_valid(store)

    before = sorted(p.relative_to(store.root) for p in store.root.rglob("*"))
    inventory_bytes = (root / "inventory.json").read_bytes()
    r3 = add(store, home, V2, message="duplicate SIP")
    assert r3.unchanged and r3.version == "v2" and r3.new_content == ()
    assert r3.inventory_digest == hashlib.sha512(inventory_bytes).hexdigest()
    assert sorted(p.relative_to(store.root) for p in store.root.rglob("*")) == before
    assert (root / "inventory.json").read_bytes() == inventory_bytes
    assert staging_leftovers(home) == []


def test_content_seen_in_an_earlier_version_is_not_stored_again(store: OcflStore, home: Path):
    add(store, home, {"x.txt": b"one"})
    add(store, home, {"y.txt": b"two"})
    r3 = add(store, home, {"x-again.txt": b"one"})  # bytes of v1 return under a new name
    assert r3.new_content == ()
    assert not (store.object_root(OBJ) / "v3").joinpath("content").exists()  # no empty content dir (W003)
    assert store.content_path(OBJ, "x-again.txt") == store.object_root(OBJ) / "v1/content/x.txt"
    assert_valid(store)


def test_chinese_logical_paths(store: OcflStore, home: Path):
    contents = {"申请材料/住房保障申请书.pdf": "申请书".encode(), "审核材料/审核表 2024.xml": b"<x/>"}
    add(store, home, contents)
    root = store.object_root(OBJ)
    assert (root / "v1/content/申请材料/住房保障申请书.pdf").read_bytes() == "申请书".encode()
    assert set(store.state(OBJ)) == set(contents)
    inventory_text = (root / "inventory.json").read_text("utf-8")
    assert "住房保障申请书" in inventory_text  # human-readable, not \\u-escaped
    assert list(store.iter_object_ids()) == [OBJ]
    assert_valid(store)


def test_move_consumes_only_the_stored_sources(store: OcflStore, home: Path):
    add(store, home, {"keep.txt": b"same"})
    files = sources(home / "in", {"keep.txt": b"same", "new.txt": b"fresh"})
    store.add_version(OBJ, files, staging=home / "staging", message="m", user=USER, move=True)
    assert not files["new.txt"].path.exists() and files["keep.txt"].path.exists()
    assert (store.object_root(OBJ) / "v2/content/new.txt").read_bytes() == b"fresh"
    assert_valid(store)


def test_bad_input_is_refused_with_every_problem_and_nothing_written(store: OcflStore, home: Path):
    files = sources(home / "in", {"ok.txt": b"1", "dir/f": b"2"})
    files["/abs"] = files["../up"] = files["a//b"] = files["dir"] = files["ok.txt"]
    files["bad-digest"] = SourceFile(files["ok.txt"].path, "abc", 1)
    with pytest.raises(PreservationError) as info:
        store.add_version(OBJ, files, staging=home / "staging", message="m", user=USER)
    text = str(info.value)
    for needle in ("/abs", "../up", "a//b", "dir/f", "bad-digest"):
        assert needle in text
    with pytest.raises(PreservationError):
        add(store, home, {"a": b"1"}, created=datetime(2024, 1, 1))  # no time zone
    assert not store.exists(OBJ)


def test_size_mismatch_aborts_cleanly(store: OcflStore, home: Path):
    files = sources(home / "in", {"a.txt": b"abc"})
    files["a.txt"] = SourceFile(files["a.txt"].path, files["a.txt"].sha512, 99)
    with pytest.raises(PreservationError, match="99"):
        store.add_version(OBJ, files, staging=home / "staging", message="m", user=USER)
    assert not store.exists(OBJ) and list(store.root.glob("[0-9a-f][0-9a-f][0-9a-f]")) == []
    assert staging_leftovers(home) == []
    assert_valid(store)


# ------------------------------------------------------------------------------------------ concurrency


def test_expected_head_is_enforced(store: OcflStore, home: Path):
    add(store, home, V1, expected_head=None)
    with pytest.raises(HeadChangedError):
        add(store, home, V2, expected_head=None)
    with pytest.raises(HeadChangedError) as info:
        add(store, home, V2, expected_head="v2")
    assert isinstance(info.value, PreservationError) and info.value.code == "OCFL-CONFLICT"
    assert add(store, home, V2, expected_head="v1").version == "v2"


def test_writer_that_loses_a_race_is_refused(store: OcflStore, home: Path, monkeypatch):
    add(store, home, V1)

    def other_writer_commits(step: str) -> None:
        if step == "built":
            monkeypatch.setattr(ocfl, "_STEP_HOOK", None)
            add(store, home, {"other.txt": b"other writer"})

    monkeypatch.setattr(ocfl, "_STEP_HOOK", other_writer_commits)
    with pytest.raises(HeadChangedError):
        add(store, home, V2, expected_head="v1")
    assert store.head(OBJ) == "v2" and set(store.state(OBJ)) == {"other.txt"}
    assert staging_leftovers(home) == []
    assert_valid(store)


def test_recover_leaves_live_transactions_alone(store: OcflStore, home: Path):
    (home / "staging").mkdir()
    live = Transaction.begin(home / "staging")
    try:
        assert store.recover(home / "staging") == []
        assert live.path.exists()
    finally:
        live.finish()
    assert staging_leftovers(home) == []


# ------------------------------------------------------------------------------------------- crashes


def _crash_child(root: str, staging: str, sip: str, contents: dict[str, bytes], step: str) -> None:
    def hook(name: str) -> None:
        if name == step:
            os.kill(os.getpid(), signal.SIGKILL)

    ocfl._STEP_HOOK = hook
    store = OcflStore(Path(root))
    store.add_version(OBJ, sources(Path(sip), contents), staging=Path(staging), message="crash", user=USER)


V1_STEPS = [s for s in ocfl.STEPS if s not in ("inventory-replaced", "sidecar-replaced")]
V2_STEPS = [s for s in ocfl.STEPS if s != "parents-created"]


@pytest.mark.parametrize(("version", "step"), [(1, s) for s in V1_STEPS] + [(2, s) for s in V2_STEPS])
def test_kill_at_any_step_then_recover_validates_and_retry_completes(store, home, version, step):
    if version == 2:
        add(store, home, V1)
    wanted = V1 if version == 1 else V2
    ctx = multiprocessing.get_context("fork")
    child = ctx.Process(target=_crash_child, args=(str(store.root), str(home / "staging"),
                                                   str(home / "crash-sip"), wanted, step))  # fmt: skip
    child.start()
    child.join(20)
    assert child.exitcode == -signal.SIGKILL, f"child did not die at {step}"
    assert staging_leftovers(home)  # the kill left a transaction behind

    actions = store.recover(home / "staging")
    assert any("cleared interrupted transaction" in a for a in actions)
    assert staging_leftovers(home) == []
    assert_valid(store)
    head = store.head(OBJ)
    assert head in (None, "v1") if version == 1 else head in ("v1", "v2")

    result = add(store, home, wanted)
    assert result.version == f"v{version}"
    assert result.unchanged == (head == f"v{version}")  # rolled forward by recover, or written now
    assert store.state(OBJ) == {k: hashlib.sha512(v).hexdigest() for k, v in wanted.items()}
    assert staging_leftovers(home) == []
    assert_valid(store)


def test_recover_rolls_back_a_damaged_version_and_fixes_a_stale_sidecar(store: OcflStore, home: Path):
    add(store, home, V1)
    add(store, home, V2)
    root = store.object_root(OBJ)
    # simulate: v3 moved in but damaged (its content does not verify), root inventory still names v2
    (root / "v3/content").mkdir(parents=True)
    (root / "v3/content/x.txt").write_bytes(b"garbage")
    (root / "v3/inventory.json").write_bytes((root / "v2/inventory.json").read_bytes())
    # and a root sidecar that lags behind the root inventory
    (root / "inventory.json.sha512").write_text("0" * 128 + " inventory.json\n")
    actions = store.recover(home / "staging", scan=True)
    assert "removed incomplete v3 of " + OBJ in actions
    assert "restored the inventory sidecar of " + OBJ in actions
    assert not (root / "v3").exists()
    assert_valid(store)


def test_recover_scan_prunes_empty_tuple_directories(store: OcflStore, home: Path):
    add(store, home, V1)
    (store.root / "abc/def/012").mkdir(parents=True)
    actions = store.recover(home / "staging", scan=True)
    assert "removed empty directory abc" in actions
    assert not (store.root / "abc").exists()
    assert_valid(store)


def test_where_files_are_stored_is_made_once_per_version_and_never_outlives_its_inventory(store: OcflStore,
                                                                                        home: Path):
    from repository.preservation.ocfl_inventory import stored_paths

    add(store, home, V1)
    first = store.content_paths(OBJ)
    assert store.content_paths(OBJ)._stored is first._stored  # the head's, made once
    assert dict(store.content_paths(OBJ, "v1")) == dict(first)
    add(store, home, V2)  # a new inventory: the paths of its head are made from it
    head = store.content_paths(OBJ)
    assert head._stored is not first._stored
    assert {p: str(w) for p, w in head.items()} == {
        p: str(store.object_root(OBJ) / c) for p, c in stored_paths(json.loads(
            (store.object_root(OBJ) / "inventory.json").read_bytes())).items()}
    assert head["a.txt"].read_bytes() == b"alpha 2" and "c.txt" not in head and "c.txt" in first
    assert dict(store.content_paths(OBJ, "v1")) == dict(first)
    other = json.loads((store.object_root(OBJ) / "inventory.json").read_bytes())  # not the one kept: made anew
    assert store.content_paths(OBJ, inventory=other)._stored == head._stored
    assert store.content_paths(OBJ, inventory=other)._stored is not head._stored
