"""The search page's facet lists, made in one pass (repository/web/views/search.py: facet_rows), link each
value to the URL the page's link helper builds and escape it as Jinja's autoescape would, whatever the
search's other parameters and their order."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from markupsafe import escape

from repository.search.results import SearchResult
from repository.web.gateway.searching import FacetValue, SearchPage
from repository.web.views.search import facet_links, facet_rows

VALUES = ["320102", "2024", "a&b=<c>", "档案 甲", "x%y+z?", "0"]


@pytest.mark.parametrize("args", [
    {}, {"q": "张三"}, {"division": "320102"}, {"q": "a&b", "division": "3201", "year": "2024"},
    {"year": "2020", "q": "<x>", "sort": "-year"}, {"type": "household", "division": "32"},
])
def test_each_facet_link_is_the_page_link_of_its_value(app: Flask, args: dict[str, str]) -> None:
    facets = {name: [FacetValue(v, 1234 * (i + 1), i % 6) for i, v in enumerate(VALUES)]
              for name in ("division", "year", "type")}
    found = SearchPage(SearchResult(0, [], {}), facets, {"320102": "玄武区<&>"}, 1)
    with app.test_request_context("/search"):
        rows = facet_rows(found, "/search", args)
    assert len(rows) == 3
    for (_, items), name in zip(rows, facets, strict=True):
        hrefs = re.findall(r'href="([^"]*)"', str(items))
        assert hrefs == [str(escape(facet_links("/search", args, name)(v))) for v in VALUES]
        counts = re.findall(r'<span class="count">([^<]*)</span>', str(items))
        assert counts == [f"{1234 * (i + 1):,}" for i in range(len(VALUES))]
        assert "depth-4" in str(items) and "depth-5" not in str(items)
    assert "玄武区&lt;&amp;&gt;" in str(rows[0][1])
