"""The checks every version's state goes through, done in one pass, say what the entry-by-entry checks said."""

from __future__ import annotations

import hashlib
import random

import pytest

from repository.errors import PreservationError
from repository.preservation.ocfl import SourceFile
from repository.preservation.ocfl_build import checked_state
from repository.preservation.ocfl_inventory import all_sha512_hex, logical_path_problems, state_block


def _problems_one_by_one(paths: list[str]) -> list[str]:
    """The checks as they were written before: each path's elements, then every prefix of every path."""
    problems, good = [], set()
    for path in paths:
        if not isinstance(path, str) or not path:
            problems.append(f"empty or non-text logical path {path!r}")
        elif path.startswith("/") or path.endswith("/"):
            problems.append(f"logical path begins or ends with '/': {path}")
        elif any(part in ("", ".", "..") for part in path.split("/")):
            problems.append(f"logical path has an empty, '.' or '..' element: {path}")
        elif "\x00" in path:
            problems.append(f"logical path has a NUL character: {path!r}")
        else:
            good.add(path)
    for path in sorted(good):
        parts = path.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in good:
                problems.append(f"logical path {path} lies inside file {'/'.join(parts[:i])}")
                break
    return problems


@pytest.mark.parametrize("extra", [
    [], ["data/a"], ["data/a/b/c/d.tif"], ["data"], ["data/a/./x", "data//x", "/x", "x/", "", "a\x00b"],
    ["data/a/b", "data/a/b/c", "data/a/b/c/d"], ["metadata/档案", "metadata/档案/页.tif"],
    # each alone: what the joined one-pass test must not let through
    ["a/\x00/b"], ["\x00"], ["data/x\x00"], ["./x"], ["x/."], ["x/.."], ["../x"], ["data/a/b/"], ["/"], ["//"],
    [""], [None], [7], ["data/.../x"], ["data/..x/.y"],
])
def test_logical_path_problems_in_one_pass_name_what_the_path_by_path_check_named(extra):
    paths = [f"data/a/b/{i:03d}.tif" for i in range(200)] + [f"data/c/{i}.pdf" for i in range(50)] + extra
    random.Random(7).shuffle(paths)
    assert logical_path_problems(paths) == _problems_one_by_one(paths)
    harmless = (["data/a/b/c/d.tif"], ["data/.../x"], ["data/..x/.y"])
    assert bool(logical_path_problems(paths)) == bool(extra and extra not in harmless)


def test_digests_checked_in_one_pass():
    good = [hashlib.sha512(bytes([i])).hexdigest() for i in range(50)]
    assert all_sha512_hex(good) and all_sha512_hex([d.upper() for d in good]) and all_sha512_hex([])
    for bad in ("ab" * 63, "ab" * 65, "g" * 128, "é" * 128, "ab" * 63 + "\nx", None, 7):
        assert not all_sha512_hex([*good, bad])
    files = {f"data/{i}.tif": SourceFile(f"/nowhere/{i}", d.upper() if i % 2 else d, 1) for i, d in enumerate(good)}
    assert checked_state(files) == {f"data/{i}.tif": d for i, d in enumerate(good)}
    files["data/bad.tif"] = SourceFile("/nowhere/bad", "ab" * 63, 1)
    files["data/0.tif/x"] = SourceFile("/nowhere/x", good[0], 1)
    with pytest.raises(PreservationError) as raised:
        checked_state(files)
    assert "data/bad.tif" in str(raised.value) and "lies inside file data/0.tif" in str(raised.value)


def test_state_block_sorts_digests_and_their_paths():
    digests = [hashlib.sha512(bytes([i % 7])).hexdigest() for i in range(40)]
    state = {f"data/{i:02d}.tif": d for i, d in enumerate(digests)}
    items = list(state.items())
    random.Random(3).shuffle(items)
    block = state_block(dict(items))
    assert list(block) == sorted(set(digests))
    assert all(paths == sorted(paths) for paths in block.values())
    assert {p: d for d, paths in block.items() for p in paths} == state


def _next_inventory_sorting_every_path(previous: dict, state: dict[str, str], block: dict) -> tuple[dict, dict]:
    """next_inventory as it was written before: every path of the state sorted to find the new content."""
    manifest = dict(previous["manifest"])
    versions = dict(previous["versions"])
    vname = f"v{len(versions) + 1}"
    new_content = {}
    for path, digest in sorted(state.items()):
        if digest not in manifest:
            manifest[digest] = [f"{vname}/content/{path}"]
            new_content[f"{vname}/content/{path}"] = digest
    versions[vname] = {**block, "state": state_block(state)}
    return {"id": previous["id"], "type": previous["type"], "digestAlgorithm": "sha512", "head": vname,
            "manifest": manifest, "versions": versions}, new_content


def test_the_next_inventory_sorts_only_the_new_content_and_is_the_same():
    from repository.preservation.ocfl_inventory import next_inventory, serialize

    block = {"created": "2025-01-02T00:00:00Z", "message": "m", "user": {"name": "n"}}
    rng = random.Random(11)
    digest = [hashlib.sha512(bytes([i])).hexdigest() for i in range(60)]
    first = {f"data/{rng.randrange(10**6):07d}.tif": digest[i % 30] for i in range(80)}  # shared digests
    v1, _ = next_inventory("urn:x", None, first, block)
    second = dict(first)
    second.update({f"data/new/{rng.randrange(10**6):07d}.tif": digest[rng.randrange(60)] for _ in range(40)})
    items = list(second.items())
    rng.shuffle(items)
    got = next_inventory("urn:x", v1, dict(items), block)
    want = _next_inventory_sorting_every_path(v1, dict(items), block)
    assert got == want and serialize(got[0]) == serialize(want[0])
    assert list(got[1]) == list(want[1]) and list(got[0]["manifest"]) == list(want[0]["manifest"])
