"""The division tree (GB/T 2260): bundled demo city, shape checks, roll-up queries, custom trees."""

from __future__ import annotations

import json

import pytest

from repository import config
from repository.divisions import Division, DivisionTree, default_tree, level_of, tree_for, well_formed
from repository.errors import ConfigError

NANJING_DISTRICTS = {
    "320102": "玄武区", "320104": "秦淮区", "320105": "建邺区", "320106": "鼓楼区", "320111": "浦口区",
    "320113": "栖霞区", "320114": "雨花台区", "320115": "江宁区", "320116": "六合区", "320117": "溧水区",
    "320118": "高淳区",
}


@pytest.fixture(scope="module")
def tree() -> DivisionTree:
    return default_tree()


def test_bundled_tree_has_province_city_and_all_eleven_districts(tree):
    assert tree.roots() == ["320000"]
    assert tree.get("320000") == Division("320000", "江苏省", "province", None)
    assert tree.get("320100") == Division("320100", "南京市", "city", "320000")
    assert {c: tree.get(c).name for c in tree.children("320100")} == NANJING_DISTRICTS
    assert all(tree.get(c).level == "district" for c in NANJING_DISTRICTS)


def test_bundled_streets_are_real_shaped_and_numerous_enough(tree):
    streets = [d for d in tree if d.level == "street"]
    assert all(len(d.code) == 9 and d.parent == d.code[:6] and well_formed(d.code) for d in streets)
    assert all(d.name.endswith(("街道", "镇")) for d in streets)
    with_three = [c for c in NANJING_DISTRICTS if len(tree.children(c)) >= 3]
    assert len(with_three) >= 4
    assert tree.get("320102002").name == "梅园新村街道"


def test_path_name_and_ancestors(tree):
    assert tree.path_name("320102002") == "江苏省 南京市 玄武区 梅园新村街道"
    assert tree.ancestors("320102002") == ["320000", "320100", "320102", "320102002"]
    assert tree.ancestors("320000") == ["320000"]


def test_descendants_are_inclusive_and_scoped(tree):
    xuanwu = tree.descendants("320102")
    assert "320102" in xuanwu and "320102002" in xuanwu
    assert "320106001" not in xuanwu
    assert tree.descendants("320102002") == {"320102002"}
    assert tree.descendants("320000") == {d.code for d in tree}


def test_contains(tree):
    assert tree.contains("320100", "320102002")
    assert tree.contains("320102002", "320102002")
    assert not tree.contains("320104", "320102002")
    assert not tree.contains("320102002", "320102")


def test_leaves_are_the_streets(tree):
    assert set(tree.leaves()) == {d.code for d in tree if d.level == "street"}


def test_unknown_codes_answer_empty(tree):
    assert tree.get("320205001") is None
    assert "320205001" not in tree
    assert tree.ancestors("320205001") == []
    assert tree.descendants("320205001") == set()
    assert tree.children("320205001") == []
    assert not tree.contains("320000", "320205001")
    assert tree.path_name("320205001") == ""


@pytest.mark.parametrize(
    ("code", "level"),
    [
        ("320000", "province"), ("820000", "province"), ("710000", "province"),
        ("320100", "city"), ("320102", "district"), ("429004", "district"), ("320102002", "street"),
        ("320102400", "street"),
        ("190102", None),  # 19 is no province
        ("990000", None), ("000000", None),
        ("320017", None),  # a district under city 00
        ("320100001", None),  # a street under a city
        ("320102000", None),  # street 000
        ("32010", None), ("3201020020", None), ("32010200", None), ("", None), (" 320102", None),
        ("３２０１０２", None),  # full-width digits
        ("32010a", None),
    ],
)
def test_well_formed_and_level(code, level):
    assert level_of(code) == level
    assert well_formed(code) is (level is not None)
    assert DivisionTree.well_formed(code) is (level is not None)


def _write(tmp_path, entries) -> object:
    path = tmp_path / "divisions.json"
    path.write_text(json.dumps(entries, ensure_ascii=False), "utf-8")
    return path


def test_custom_tree_file(tmp_path):
    path = _write(tmp_path, [
        {"_comment": "test"},
        {"code": "110000", "name": "北京市", "parent": None},
        {"code": "110100", "name": "市辖区", "parent": "110000"},
        {"code": "110101", "name": "东城区", "parent": "110100"},
        {"code": "110101001", "name": "东华门街道", "parent": "110101"},
    ])
    tree = DivisionTree.load(path)
    assert len(tree) == 4
    assert tree.path_name("110101001") == "北京市 市辖区 东城区 东华门街道"
    assert "320102" not in tree


@pytest.mark.parametrize(
    "entries",
    [
        {"code": "320000"},  # not a list
        [{"code": "320000", "name": "江苏省", "parent": None}, {"code": "320100", "name": "南京市", "parent": "330000"}],
        [{"code": "190000", "name": "?", "parent": None}],
        [{"code": "320000", "name": "江苏省", "parent": None}, {"code": "320000", "name": "江苏省", "parent": None}],
        [{"code": "320000", "name": "江苏省", "parent": None},
         {"code": "320102", "name": "玄武区", "parent": "320000"},  # skips the city but is no 省直辖 county
         {"code": "320102002", "name": "梅园新村街道", "parent": "320000"}],
        [{"name": "江苏省"}],
    ],
)
def test_bad_tree_files_raise_config_error(tmp_path, entries):
    with pytest.raises(ConfigError):
        DivisionTree.load(_write(tmp_path, entries))


def test_unreadable_tree_file_raises_config_error(tmp_path):
    (tmp_path / "broken.json").write_text("[{", "utf-8")
    with pytest.raises(ConfigError):
        DivisionTree.load(tmp_path / "broken.json")
    with pytest.raises(ConfigError):
        DivisionTree.load(tmp_path / "absent.json")


def test_tree_for_config(tmp_path):
    assert tree_for(None) is default_tree()
    assert tree_for(config.load(tmp_path, environ={})) is default_tree()
    _write(tmp_path, [{"code": "110000", "name": "北京市", "parent": None}])
    (tmp_path / "hsar.toml").write_text('[repository]\ndivisions = "divisions.json"\n', "utf-8")
    cfg = config.load(tmp_path, environ={})
    tree = tree_for(cfg)
    assert [d.code for d in tree] == ["110000"]
    assert tree_for(cfg) is tree  # cached while the file is unchanged
