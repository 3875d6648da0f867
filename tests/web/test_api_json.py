"""The search API's answer is encoded by orjson (:func:`repository.web.api.views.answer`): the JSON the json
module would write, byte for byte, UTF-8 as it is (Chinese not \\u-escaped), with the library's hits unchanged
for an administrator and identity numbers and names masked for a researcher."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask

from repository.home import Repository
from repository.search.results import SearchRequest
from repository.web.api import views
from repository.web.gateway.searching import FACETS

from .test_api import RESIDENT_ID, api, tokens  # noqa: F401 - the token users and their clients


def _json_module(value: Any) -> bytes:  # noqa: ANN401
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def test_the_answer_is_the_json_modules_json_byte_for_byte(app: Flask) -> None:
    value = {"title": "吕红梅户住房保障档案", "hits": ({"highlights": {"text": "经审核，<em>吕红梅</em>&lt;已公示&gt;"},
                                                  "paper": [{"shelf": "C库8排9柜3格", "items": (1, 2)}]},),
             "score": 1.2345, "total": 3, "none": None, "flag": False, "odd": "a\u2028b\x01\"\\/\t"}
    with app.test_request_context():
        response = views.answer(value)
    assert response.mimetype == "application/json"
    assert response.get_data() == _json_module(value)
    assert "吕红梅户".encode() in response.get_data()  # not \u-escaped


def test_a_value_orjson_refuses_is_written_by_the_json_module(app: Flask) -> None:
    value = {"big": 2**70, "counts": {"2020": 1}}
    with app.test_request_context():
        assert views.answer(value).get_data() == _json_module(value)


def _person(archives: dict[str, Any]) -> tuple[str, str]:
    """The name and resident ID of a household head (a name in the index, an ID to keep masked)."""
    head = next(v.archive.household.head for v in archives.values() if v.archive.household is not None)
    return head.name, head.resident_id


def test_an_administrators_name_search_answers_the_librarys_hits(api: Any, archives: dict[str, Any],  # noqa: F811
                                                                 web_home: Any) -> None:  # noqa: ANN401
    name, _id = _person(archives)
    response = api("admin").get(f"/api/v1/search?q={name}")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert name.encode("utf-8") in response.get_data()  # UTF-8 as it is
    body = response.get_json()
    with Repository.open(web_home) as repo:
        result = repo.search.search(SearchRequest(query=name, facets=FACETS))
    assert body["total"] == result.total > 0
    assert body["hits"] == json.loads(_json_module([h.to_dict() for h in result.hits]))
    assert any("<em>" in text for h in body["hits"] for text in h["highlights"].values())


def test_a_researchers_name_search_has_every_identity_number_and_name_masked(api: Any,  # noqa: F811
                                                                           archives: dict[str, Any]) -> None:
    name, resident_id = _person(archives)
    admin = api("admin").get(f"/api/v1/search?q={name}").get_data(as_text=True)
    assert name in admin and (resident_id in admin or re.search(r"\*{8}", admin))
    text = api("reader").get(f"/api/v1/search?q={name}").get_data(as_text=True)
    body = json.loads(text)
    assert body["total"] > 0
    assert not RESIDENT_ID.search(text) and resident_id not in text
    assert name not in json.dumps(body["hits"], ensure_ascii=False)  # the household's people masked in every hit
