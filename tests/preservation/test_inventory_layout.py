"""``inventory.json`` is written one line per entry (manifest, fixity, each version's state) with the C string
encoder, not by ``json.dumps(indent=2)`` (its pure-Python loop, and a line per path: slower and 10 % larger);
the text must stay the same JSON, readable, and valid for ocfl-py."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from repository.preservation.ocfl import OcflStore, SourceFile
from repository.preservation.ocfl_inventory import serialize
from repository.preservation.ocfl_validate import validate_with_ocfl_py

INVENTORY = {
    "id": "urn:hsar:hh-320102-2019-0001", "type": "https://ocfl.io/1.1/spec/#inventory",
    "digestAlgorithm": "sha512", "head": "v2", "contentDirectory": "content",
    "manifest": {"a" * 128: ["v1/content/data/申请表.pdf"], "b" * 128: ["v2/content/data/x.tif", "v2/content/data/y.tif"]},
    "fixity": {"md5": {"c" * 32: ["v1/content/data/申请表.pdf"]}},
    "versions": {
        "v1": {"created": "2020-01-01T00:00:00Z", "message": "首次", "user": {"name": "张三", "address": "mailto:z@x"},
               "state": {"a" * 128: ["data/申请表.pdf"]}},
        "v2": {"created": "2021-01-01T00:00:00Z", "state": {"a" * 128: ["data/申请表.pdf"],
                                                            "b" * 128: ["data/x.tif", "data/y.tif"]}},
        "v3": {"created": "2022-01-01T00:00:00Z", "state": {}},
    },
}


def test_the_layout_is_the_same_json_one_line_per_entry() -> None:
    text = serialize(INVENTORY).decode("utf-8")
    assert json.loads(text) == INVENTORY and text.endswith("}\n")
    lines = text.splitlines()
    assert '  "head": "v2",' in lines and "申请表" in text  # readable: no \\u escapes
    assert f'    "{"b" * 128}": ["v2/content/data/x.tif", "v2/content/data/y.tif"],' not in lines  # last entry
    assert f'    "{"b" * 128}": ["v2/content/data/x.tif", "v2/content/data/y.tif"]' in lines  # manifest
    assert f'        "{"a" * 128}": ["data/申请表.pdf"],' in lines  # v2 state: an entry a line
    assert '      "user": {"name": "张三", "address": "mailto:z@x"},' in lines  # small values stay on one line
    assert '      "state": {}' in lines
    assert len([line for line in lines if "data/申请表.pdf" in line]) == 4  # manifest, fixity, v1 and v2 states


def test_a_stored_inventory_is_laid_out_so_and_ocfl_py_validates_it(tmp_path: Path) -> None:
    payload = tmp_path / "a.txt"
    payload.write_bytes(b"hello\n")
    digest = hashlib.sha512(b"hello\n").hexdigest()
    store = OcflStore.init(tmp_path / "store")
    staging = tmp_path / "staging"
    staging.mkdir()
    store.add_version("urn:x:1", {"data/a.txt": SourceFile(payload, digest, 6)}, staging=staging, message="m",
                      user=("u", "mailto:u@x"))
    inventory = next((tmp_path / "store").rglob("inventory.json"))
    assert f'    "{digest}": ["v1/content/data/a.txt"]' in inventory.read_text("utf-8").splitlines()
    assert validate_with_ocfl_py(tmp_path / "store", warnings=False) == []
