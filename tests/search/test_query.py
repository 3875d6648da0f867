"""The query language: parsing, errors with clear messages, and the engine-neutral plan."""

from __future__ import annotations

import re

import pytest

from repository.divisions import default_tree
from repository.errors import QuerySyntaxError
from repository.search.plan import And, MatchAll, Or, Phrase, Prefix, Term, Terms, build, match_spec
from repository.search.query import parse, year_range


def test_plain_words_are_anded_and_segmented():
    plan = build(parse("王秀英 公共租赁住房"))
    assert plan == And((Or((Term("all", "王秀英"), And((Term("all", "王"), Term("all", "秀英"))))),
                        Term("all", "公共租赁住房")))


def test_phrases_fields_aliases_and_full_width_punctuation():
    assert build(parse('"公共租赁住房 年度复核"')) == And((Phrase("phrase", ("公共租赁住房", "年度复核")),))
    assert build(parse("姓名：李强")) == build(parse("name:李强")) == And((Term("name", "李强"),))
    assert build(parse("“年度复核”")) == And((Term("all", "年度复核"),))
    assert build(parse("status:在保 保管期限:长期 class:申请材料")) == And(
        (Term("status", "provided"), Term("retention", "D30"), Term("class", "application")))
    assert build(parse("box:b0012")) == build(parse("盒号:B0012")) == And((Term("box", "b0012"),))
    assert build(parse("ref:A001-ZF*")) == And((Prefix("ref", "a001-zf"),))


def test_year_ranges():
    assert year_range("2019") == (2019, 2019)
    assert year_range("2019..2021") == (2019, 2021)
    assert year_range("..1901") == (1900, 1901)
    assert build(parse("year:2019..2021")) == And((Terms("year", ("2019", "2020", "2021")),))


def test_or_not_filters_and_division():
    plan = build(parse("租金补贴 OR 廉租住房 -退出"), {"type": "household", "status": ["在保", "waiting"]},
                 division="320102")
    assert plan.must == (Or((Term("all", "租金补贴"), Term("all", "廉租住房"))), Term("type", "household"),
                         Or((Term("status", "provided"), Term("status", "waiting"))), Term("divisions", "320102"))
    assert plan.must_not == (Term("all", "退出"),)
    assert build(parse("")) == And((MatchAll(),))
    assert build(parse("-退出")) == And((MatchAll(),), (Term("all", "退出"),))
    assert build(parse("   ")) == And((MatchAll(),))  # blank: every archive
    assert build(parse("王秀英 ，😀")) == build(parse("王秀英"))  # the rest still has something to look for


@pytest.mark.parametrize(("query", "message"), [
    ('"王秀英', "unbalanced quote"),
    ('name:"王秀英', "unbalanced quote"),
    ("colour:red", "unknown field 'colour'"),
    ("name:", "needs a value"),
    ("year:19", "bad year"),
    ("year:2021..2019", "2021 is after 2019"),
    ("year:abc..2019", "bad year"),
    ("OR 王秀英", "OR needs a term"),
    ("王秀英 OR", "OR needs a term"),
    ("王秀英 OR -李强", "cannot be part of OR"),
    ("王秀英 NOT", "needs a term after it"),
    ("division:玄武区", "GB/T 2260 code"),
])
def test_malformed_queries(query, message):
    with pytest.raises(QuerySyntaxError, match=message) as info:
        build(parse(query))
    chinese, english = info.value.render("zh"), info.value.render("en")
    assert re.search("[\u4e00-\u9fff]", chinese) and message in english  # each language its own text
    assert not re.search("[\u4e00-\u9fff]", re.sub("'[^']*'", "", english))  # but the quoted input


@pytest.mark.parametrize("query", ["😀", "，", "!!!，。、？", ":", '""', "“ ”", "-，", "NOT 😀", "name:，", "title:😀",
                                   "， OR 。"])
def test_a_query_left_with_nothing_searchable_is_refused(query):
    with pytest.raises(QuerySyntaxError, match="nothing searchable is left") as info:
        build(parse(query))
    assert info.value.render("zh").startswith("'") and "没有可检索的内容" in info.value.render("zh")


def test_a_filter_left_with_nothing_searchable_is_refused():
    with pytest.raises(QuerySyntaxError, match="nothing searchable is left in 'name:，'"):
        build(parse(""), {"name": "，"})
    assert build(parse(""), {"name": ["", " "]}) == And((MatchAll(),))  # no value given: no filter


@pytest.mark.parametrize("code", ["abc", "-1", "3201", "32", "0", "999999", "000000", "32011400000000000",
                                  "3201020", "320102000", "320102x"])
def test_malformed_division_codes_are_refused_naming_the_code(code):
    for scope in ({"division": code}, {"filters": {"division": code}}):
        with pytest.raises(QuerySyntaxError, match="GB/T 2260") as info:
            build(parse(""), **scope)
        assert repr(code) in str(info.value) and "行政区划" in info.value.render("zh")
    if code.strip():
        with pytest.raises(QuerySyntaxError, match=re.escape(repr(code))):
            build(parse(f"division:{code}"))


def test_division_codes_outside_the_tree_are_refused_when_the_tree_is_given():
    tree = default_tree()
    assert build(parse(""), division="320100", divisions=tree).must == (Term("divisions", "320100"),)
    assert build(parse(""), division="320102002", divisions=tree).must == (Term("divisions", "320102002"),)
    assert build(parse(""), division="320200").must == (Term("divisions", "320200"),)  # no tree: shape only
    assert build(parse(""), division=" ３２０１００ ", divisions=tree).must == (Term("divisions", "320100"),)
    for scope in ({"division": "320200"}, {"filters": {"division": "320200"}}):
        with pytest.raises(QuerySyntaxError, match="division 320200 is not in this repository's division tree"):
            build(parse(""), divisions=tree, **scope)
    with pytest.raises(QuerySyntaxError, match="division 320211 is not in"):
        build(parse("王秀英 division:320211"), divisions=tree)


def test_unknown_filter_field():
    with pytest.raises(QuerySyntaxError, match="unknown filter field"):
        build(parse(""), {"colour": "red"})


def test_match_spec_collects_highlight_words_and_item_conditions():
    spec = match_spec(parse("王秀英 class:dynamic -李强 box:B0012"), {"year": "2019..2020"})
    assert "王秀英" in spec.words and "李强" not in spec.words
    assert spec.keywords == ("b0012",)
    assert spec.item_conditions == (("class", frozenset({"dynamic"})), ("year", frozenset({"2019", "2020"})))
