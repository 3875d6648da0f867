"""One suite, both engines, the same expectations (the demo repository of conftest.py)."""

from __future__ import annotations

import re

import pytest

from repository.errors import QuerySyntaxError, SearchError
from repository.search import SearchRequest, archive_document, mask_result, open_engine, reindex

HH1, HH2, HH3, HH4 = "HH-320102-2019-0001", "HH-320102-2020-0002", "HH-320104-2018-0003", "HH-320211-2019-0004"
UN1, UN2 = "UN-320102-2019-0001", "UN-320104-2018-0002"
HEAD_ID, SPOUSE_ID = "320102195803152347", "320102195501201219"  # 王秀英, 张建国


def ids(engine, query="", **kw) -> set[str]:
    return {h.archive_id for h in engine.search(SearchRequest(query, per_page=100, **kw)).hits}


def test_household_by_name(engine):
    assert ids(engine, "王秀英", filters={"type": "household"}) == {HH1}
    assert ids(engine, "name:张建国") == {HH1}  # a member counts
    assert ids(engine, "姓名：陈丽") == {HH3}


def test_household_by_full_resident_id(engine):
    assert ids(engine, HEAD_ID) == {HH1}
    assert ids(engine, f"id:{SPOUSE_ID}") == {HH1}
    assert ids(engine, "身份证号:320104200903150018") == {HH3}
    assert ids(engine, "id:320102195803152340") == set()  # one digit off: nothing


def test_household_by_estate(engine):
    assert ids(engine, "estate:幸福家园", filters={"type": "household"}) == {HH1, HH4}
    assert ids(engine, "小区:夫子庙小区", filters={"type": "household"}) == {HH3}


def test_unit_by_estate_and_room(engine):
    assert ids(engine, "estate:幸福家园 room:502", filters={"type": "unit"}) == {UN1}
    assert ids(engine, "幸福家园 building:3 室:502 type:unit") == {UN1}
    assert ids(engine, "estate:幸福家园 栋:3栋 单元:1单元 room:502室") == {UN1}
    assert ids(engine, "estate:夫子庙小区 room:502") == set()


def test_item_by_words_inside_its_pdf(engine):
    result = engine.search(SearchRequest("住房困难"))  # only in hh1's application PDF
    assert [h.archive_id for h in result.hits] == [HH1]
    hit = result.hits[0]
    assert [i["number"] for i in hit.items] == [1]
    assert "<em>住房困难</em>" in hit.highlights["text"]
    assert ids(engine, "text:每平方米") == {UN1}  # a second PDF, second-page words too
    assert ids(engine, "租金按月收缴") == {UN1}


def test_paper_volume_by_box_and_volume(engine):
    result = engine.search(SearchRequest("box:B0013"))
    assert [h.archive_id for h in result.hits] == [HH2]
    paper = result.hits[0].paper
    assert paper[0]["box"] == "B0013" and paper[0]["volume"] == "0002"
    assert paper[0]["reference_code"] == "A001-ZF·2020-Y-0002" and paper[0]["shelf"] == "A库3排2柜1格"
    assert ids(engine, "盒号:B0021") == {HH3}  # an item's own box
    assert ids(engine, "案卷号:0101") == {UN1}
    assert ids(engine, "ref:A001-ZF·2019-Y-0001") == {HH1}
    assert ids(engine, "档号:A001-FY*") == {UN1, UN2}
    assert ids(engine, "shelf:A库3排2柜2格") == {UN1, UN2}


def test_facets_with_correct_counts(engine):
    r = engine.search(SearchRequest("", facets=("type", "status", "security", "division", "year", "retention")))
    assert r.total == 6
    assert r.facets["type"] == {"household": 4, "unit": 2}
    assert r.facets["status"] == {"exited": 1, "provided": 2, "waiting": 1}
    assert r.facets["security"] == {"公共租赁住房": 3, "廉租住房": 2, "租金补贴": 1}
    assert r.facets["retention"] == {"Y": 5, "D30": 1}
    assert r.facets["division"] == {"320000": 6, "320100": 5, "320102": 3, "320102002": 2, "320104": 2,
                                    "320104001": 2, "320102003": 1, "320200": 1, "320211": 1}
    assert r.facets["year"] == {"2018": 2, "2019": 3, "2020": 3, "2021": 1}
    r = engine.search(SearchRequest("公共租赁住房", facets=("类别",)))  # Chinese alias of class
    assert r.total == 3  # HH1, HH4 and UN1
    assert r.facets["class"] == {"application": 2, "basic": 1, "provision": 1, "review": 1, "dynamic": 1,
                                 "use": 1}


def test_division_scope_includes_subdivisions_and_excludes_siblings(engine):
    assert ids(engine, division="320100") == {HH1, HH2, HH3, UN1, UN2}
    assert ids(engine, division="320102") == {HH1, HH2, UN1}
    assert ids(engine, division="320102002") == {HH1, UN1}
    assert ids(engine, "幸福家园", division="320100") == {HH1, UN1}  # not the Wuxi 幸福家园
    assert ids(engine, "幸福家园", division="320200") == {HH4}
    assert ids(engine, "区划:320104") == {HH3, UN2}


def test_filters_years_classes_and_negation(engine):
    assert ids(engine, "year:2021") == {HH3}
    assert ids(engine, "年度:2018..2018") == {HH3, UN2}
    assert ids(engine, "", filters={"status": ["在保", "轮候"]}) == {HH1, HH2, HH4}
    assert ids(engine, "申请书 -王秀英", filters={"type": "household"}) == {HH2, HH3, HH4}
    assert ids(engine, "租金补贴 OR 廉租住房", filters={"type": "household"}) == {HH2, HH3}
    assert ids(engine, '"公共租赁住房 租赁合同"') == {HH1}
    assert ids(engine, "保管期限:长期") == {HH3}


def test_matching_items_follow_item_conditions(engine):
    hit = engine.search(SearchRequest("王秀英 class:dynamic")).hits[0]
    assert hit.archive_id == HH1 and [i["number"] for i in hit.items] == [4]
    hit = engine.search(SearchRequest("户型图")).hits[0]
    assert hit.archive_id == UN1 and [i["subtype"] for i in hit.items] == ["户型图"]
    assert hit.items[0]["paper"]["box"] == "U0001"


def test_sort_and_paging(engine):
    ordered = [h.archive_id for h in engine.search(SearchRequest(sort="id", per_page=100)).hits]
    assert ordered == sorted([HH1, HH2, HH3, HH4, UN1, UN2])
    pages = [engine.search(SearchRequest(sort="id", page=p, per_page=4)) for p in (1, 2)]
    assert [h.archive_id for r in pages for h in r.hits] == ordered and pages[1].total == 6
    by_year = [h.archive_id for h in engine.search(SearchRequest(sort="-year", per_page=100)).hits]
    assert by_year == [HH2, UN1, HH4, HH1, UN2, HH3]


def test_resident_ids_masked_on_request(engine):
    result = engine.search(SearchRequest(HEAD_ID))
    assert HEAD_ID in result.hits[0].highlights["resident_id"]
    masked = mask_result(result).hits[0].highlights["resident_id"]
    assert "320102********2347" in masked and HEAD_ID not in masked


@pytest.mark.parametrize("query", ['"王秀英', "foo:bar", "year:2021..2019", "name:", "OR 王秀英"])
def test_malformed_query_gets_a_clear_error(engine, query):
    with pytest.raises(QuerySyntaxError):
        engine.search(SearchRequest(query))


def test_bad_requests(engine):
    with pytest.raises(SearchError, match="unknown facet"):
        engine.search(SearchRequest(facets=("colour",)))
    with pytest.raises(SearchError, match="unknown sort"):
        engine.search(SearchRequest(sort="size"))


@pytest.mark.parametrize(("request_", "zh", "en"), [
    (SearchRequest(facets=("colour",)), "未知的分面 'colour'", "unknown facet 'colour'"),
    (SearchRequest(sort="size"), "未知的排序 'size'", "unknown sort 'size'"),
    (SearchRequest(page=0), "页码须 ≥ 1", "page must be 1 or more"),
    (SearchRequest(page=1000, per_page=1000), "只提供前 100000 条结果", "results beyond the first 100000"),
    (SearchRequest('"王秀英'), "引号没有配对", "unbalanced quote at position 1"),
    (SearchRequest("colour:red"), "未知字段 'colour'", "unknown field 'colour'"),
])
def test_request_errors_are_in_each_language(engine, request_, zh, en):
    with pytest.raises(SearchError) as info:
        engine.search(request_)
    assert zh in info.value.render("zh") and en in info.value.render("en") == str(info.value)
    assert not re.search("[\u4e00-\u9fff]", info.value.render("en"))


@pytest.mark.parametrize("query", ["😀", "，", "!!!，。、？", ":", '""', "-，"])
def test_a_query_with_nothing_searchable_is_refused_by_both_engines(engine, query):
    with pytest.raises(QuerySyntaxError, match="nothing searchable is left"):
        engine.search(SearchRequest(query))


def test_division_scope_outside_the_tree_or_malformed_is_refused(engine):
    from repository.divisions import default_tree

    tree = default_tree()
    assert {h.archive_id for h in engine.search(SearchRequest(division="320102"), divisions=tree).hits} == {
        HH1, HH2, UN1}
    for code in ("3201", "32", "0", "999999", "32011400000000000"):
        with pytest.raises(QuerySyntaxError, match=f"not '{code}'"):
            engine.search(SearchRequest(division=code))
    with pytest.raises(QuerySyntaxError, match="division 320200 is not in this repository's division tree"):
        engine.search(SearchRequest(division="320200"), divisions=tree)


def test_supplement_new_items_become_findable(fresh_engine, pdf_texts, demo):
    assert ids(fresh_engine, "违规转租") == set()
    supplement = demo.supplement_of_first(demo.archives()[0])
    fresh_engine.replace(archive_document(supplement, version="v2", texts=demo.texts_for(supplement, pdf_texts)))
    fresh_engine.commit()
    result = fresh_engine.search(SearchRequest("违规转租"))
    assert [h.archive_id for h in result.hits] == [HH1] and result.hits[0].version == "v2"
    assert [i["number"] for i in result.hits[0].items] == [5]
    assert ids(fresh_engine, "box:B0014") == {HH1} and fresh_engine.count() == 6
    fresh_engine.delete(UN2)
    fresh_engine.commit()
    assert fresh_engine.count() == 5


QUERIES = ["王秀英", HEAD_ID, "estate:幸福家园", "公共租赁住房", "box:B0012", "住房困难", "year:2019..2020",
           "申请书 -李强", "租金补贴 OR 廉租住房", "type:unit 租金标准"]


def _answers(engine) -> list:
    out = []
    for q in QUERIES:
        r = engine.search(SearchRequest(q, sort="id", facets=("status", "division", "class"), per_page=100))
        out.append((q, r.total, [h.to_dict() | {"score": 0} for h in r.hits], r.facets))
    return out


def test_reindex_gives_the_same_answers(fresh_engine, documents, tmp_path):
    before = _answers(fresh_engine)
    seen: list[int] = []
    rebuilt = open_engine(fresh_engine.kind, tmp_path / "rebuilt", rebuild=True)
    assert reindex(rebuilt, iter(documents), batch=4, progress=seen.append) == 6
    assert seen == [4, 6] and _answers(rebuilt) == before
    rebuilt.close()


def test_both_engines_give_the_same_answers(documents, tmp_path):
    answers = []
    for kind in ("whoosh", "tantivy"):
        with open_engine(kind, tmp_path) as eng:
            reindex(eng, documents)
            answers.append(_answers(eng))
    assert answers[0] == answers[1]
