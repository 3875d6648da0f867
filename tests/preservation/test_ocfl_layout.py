"""Storage layouts: extension 0003 for new roots (checked against the extension's examples and ocfl-py's own
handler), extension 0004 kept for roots made with it, the root's own ``ocfl_layout.json`` deciding."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import pytest

from repository.errors import PreservationError
from repository.preservation.ocfl_layout import (
    LAYOUT_0003,
    LAYOUT_0004,
    HashAndIdNTupleLayout,
    HashedNTupleLayout,
    encode_identifier,
    init_storage_root,
    read_storage_root,
)

if importlib.util.find_spec("ocfl") is None:  # not importorskip: importing ocfl-py reconfigures logging
    pytest.skip("ocfl-py (test extra) is the independent reference", allow_module_level=True)

IDS = ["object-01", "..hor/rib:le-$id", "urn:hsar:archive:hh-110101-2024-0001", "住房保障 档案/№1",
       "a" * 100, "a" * 101, "urn:hsar:archive:" + "长" * 40, "%41 already-encoded%", "Ab_-09"]


def test_a_new_root_declares_0003_with_the_extension_defaults(tmp_path: Path) -> None:
    root = tmp_path / "storage"
    layout = init_storage_root(root)
    assert layout == HashAndIdNTupleLayout() and read_storage_root(root) == layout
    assert json.loads((root / "ocfl_layout.json").read_text("utf-8"))["extension"] == LAYOUT_0003
    config = json.loads((root / "extensions" / LAYOUT_0003 / "config.json").read_text("utf-8"))
    assert config == {"extensionName": LAYOUT_0003, "digestAlgorithm": "sha256", "tupleSize": 3,
                      "numberOfTuples": 3}
    assert not (root / "extensions" / LAYOUT_0004).exists()
    assert LAYOUT_0003 in (root / "ocfl_1.1.md").read_text("utf-8")


def test_0003_maps_the_extension_examples() -> None:
    layout = HashAndIdNTupleLayout()
    assert layout.object_path("object-01") == "3c0/ff4/240/object-01"
    assert layout.object_path("..hor/rib:le-$id") == "487/326/d8c/%2e%2ehor%2frib%3ale-%24id"
    assert encode_identifier("住") == "%e4%bd%8f" and encode_identifier("Ab_-09") == "Ab_-09"


def test_0003_truncates_long_names_and_appends_the_digest() -> None:
    layout = HashAndIdNTupleLayout()
    exact, longer = layout.object_path("a" * 100), layout.object_path("a" * 101)
    assert exact.rsplit("/", 1)[1] == "a" * 100
    name = longer.rsplit("/", 1)[1]
    assert name.startswith("a" * 100 + "-") and len(name) == 100 + 1 + 64
    digest = hashlib.sha256(("a" * 101).encode()).hexdigest()
    assert name == "a" * 100 + "-" + digest and longer.startswith(f"{digest[:3]}/{digest[3:6]}/{digest[6:9]}/")


@pytest.mark.parametrize("config", [
    {"digestAlgorithm": "sha256", "tupleSize": 3, "numberOfTuples": 3},
    {"digestAlgorithm": "sha256", "tupleSize": 2, "numberOfTuples": 4},
    {"digestAlgorithm": "sha256", "tupleSize": 0, "numberOfTuples": 0},
    {"digestAlgorithm": "md5", "tupleSize": 4, "numberOfTuples": 8},
])
def test_0003_agrees_with_ocfl_py(config: dict[str, object]) -> None:
    from ocfl.layout_0003_hash_and_id_n_tuple import Layout_0003_Hash_And_Id_N_Tuple

    theirs = Layout_0003_Hash_And_Id_N_Tuple()
    theirs.check_and_set_layout_params({"extensionName": LAYOUT_0003, **config})
    ours = HashAndIdNTupleLayout.from_config({"extensionName": LAYOUT_0003, **config})
    for identifier in IDS:
        assert ours.object_path(identifier) == theirs.identifier_to_path(identifier), identifier


@pytest.mark.parametrize("config", [{"tupleSize": 1, "numberOfTuples": 0}, {"tupleSize": 33},
                                    {"tupleSize": 8, "numberOfTuples": 9}, {"digestAlgorithm": "nope"},
                                    {"extensionName": LAYOUT_0004}, {"tupleSize": True}])
def test_0003_refuses_a_broken_config(tmp_path: Path, config: dict[str, object]) -> None:
    with pytest.raises(PreservationError):
        HashAndIdNTupleLayout.from_config(config)


def test_a_0004_root_is_read_as_0004_and_reinit_keeps_it(tmp_path: Path) -> None:
    root = tmp_path / "storage"
    assert init_storage_root(root, LAYOUT_0004) == HashedNTupleLayout()
    assert init_storage_root(root) == HashedNTupleLayout()  # the root decides, not the default
    assert json.loads((root / "ocfl_layout.json").read_text("utf-8"))["extension"] == LAYOUT_0004
    assert not (root / "extensions" / LAYOUT_0003).exists()


def test_the_root_files_decide_the_layout(tmp_path: Path) -> None:
    root = tmp_path / "storage"
    init_storage_root(root)
    config = root / "extensions" / LAYOUT_0003 / "config.json"
    config.write_text(json.dumps({"extensionName": LAYOUT_0003, "tupleSize": 2, "numberOfTuples": 2}), "utf-8")
    assert read_storage_root(root).object_path("object-01") == "3c/0f/object-01"
    config.unlink()  # no config: the extension's defaults
    assert read_storage_root(root) == HashAndIdNTupleLayout()
    (root / "ocfl_layout.json").write_text(json.dumps({"extension": "0002-flat-direct-storage-layout"}), "utf-8")
    with pytest.raises(PreservationError):
        read_storage_root(root)
    with pytest.raises(PreservationError):
        init_storage_root(tmp_path / "other", "0002-flat-direct-storage-layout")
