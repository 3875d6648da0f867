"""The search page as its rows and form are made now (repository/web/views/search.py: hit_rows, facet_rows;
views/search_form.py) is, byte for byte, the page as it was made before: the rows built from markupsafe's
escape, the page's highlight filter, Flask's url_for and the message catalogue one value at a time, and the form
printed by the template. Checked for constructed hits holding every kind of value (odd archive ids, values to
escape, paper values that are numbers, empty or lists, highlights with entities and quotes, scanned pages) in
both languages, and for whole pages of real searches by an administrator, a researcher (masked) and a
district archivist."""

from __future__ import annotations

import pytest
from flask import Flask, g, render_template_string, url_for
from markupsafe import Markup, escape

from repository import messages
from repository.search.results import Hit, SearchResult
from repository.web import i18n
from repository.web.gateway import searching
from repository.web.gateway.searching import FacetValue, SearchPage
from repository.web.views import search as search_views
from repository.web.views.search import PAPER_KEYS, facet_links, facet_rows, hit_rows


def _e(value: object) -> str:
    return str(escape(value))


def hit_rows_before(found: SearchPage) -> list[str]:
    """Each hit's ``<article>`` as the view made it before, one value at a time."""
    lang = i18n.current_lang()
    rows = []
    for hit in found.result.hits:
        out = [f'<article class="hit"><h2><a href="{_e(url_for("archives.show", archive_id=hit.archive_id))}">'
               f'{_e(hit.title)}</a></h2><p class="meta">{_e(i18n.label("web.type", hit.type))} · '
               f'{_e(found.division_names.get(hit.division, hit.division))} · <code>{_e(hit.archive_id)}</code></p>']
        for p in hit.paper:
            spans = "".join(f"<span>{_e(i18n.t('web.paper.' + k))} "
                            f"{_e(', '.join(map(str, p[k])) if k == 'items' else p[k])}</span>"
                            for k in PAPER_KEYS if p.get(k) not in (None, "", []))
            out.append(f'<p class="paper">{_e(i18n.t("web.paper.title"))}: {spans}</p>')
        if hit.highlights:
            out.append('<dl class="highlights">' + "".join(
                f"<dt>{_e(i18n.t('web.highlight.' + field))}</dt><dd>{i18n.highlight(fragment)}</dd>"
                for field, fragment in hit.highlights.items()) + "</dl>")
        for item in hit.items:
            for f in item.get("found_on", []):
                href = url_for("archives.viewer", archive_id=hit.archive_id, path=f["file"],
                               page=f["page"] if f["file"].lower().endswith((".tif", ".tiff")) else None)
                text = messages.text("ocr.hit.page", lang, file=f["file"].rsplit("/", 1)[-1], page=f["page"])
                out.append(f'<p class="found-on"><a href="{_e(href)}">{_e(text)}</a></p>')
        out.append("</article>")
        rows.append("".join(out))
    return rows


def facet_rows_before(found: SearchPage, base: str, args: dict[str, str]) -> list[tuple[str, str]]:
    rows = []
    for name, values in found.facets.items():
        if not values:
            continue
        link = facet_links(base, args, name)
        items = "".join(
            f'<li class="depth-{min(v.depth, 4)}"><a href="{_e(link(v.value))}">'
            f'{_e(found.division_names.get(v.value, v.value) if name == "division" else i18n.label("web." + name, v.value))}'
            f'</a> <span class="count">{_e(i18n.number(v.count))}</span></li>' for v in values)
        rows.append((i18n.t("web.field." + name), items))
    return rows


#: search.html's form as the template printed it before it was kept per language (views/search_form.py)
FORM_BEFORE = """<form class="search" method="get" action="{{ url_for('search.search') }}" role="search">
  <div class="box">
    <input name="q" value="{{ args.get('q', '') }}" placeholder="{{ t('web.search.placeholder') }}" aria-label="{{ t('web.search.title') }}">
    <button type="submit">{{ t('web.search.submit') }}</button>
  </div>
  <details class="advanced"{% if args.keys()|select('in', advanced)|list %} open{% endif %}>
    <summary>{{ t('web.search.advanced') }}</summary>
    <div class="fields">
    {% for name in advanced %}
      <label>{{ t('web.field.' + name) }} <input name="{{ name }}" value="{{ args.get(name, '') }}"></label>
    {% endfor %}
    </div>
  </details>
  <label class="sort">{{ t('web.search.sort') }}
    <select name="sort">
    {% for s in sorts %}<option value="{{ s }}"{% if args.get('sort', 'relevance') == s %} selected{% endif %}>{{ t('web.sort.' + s) }}</option>{% endfor %}
    </select>
  </label>
</form>"""

ODD = "<b>\"A&B's\"</b>"
IDS = ["HH-320102001-0000001", "HH-320114***-***7895", "a b/c?d#e%f", "档案·甲&乙=丙", "x;y@z!'", ODD]


def _hits() -> list[Hit]:
    hits = []
    for n, archive_id in enumerate(IDS):
        paper = [{"reference_code": f"A001-{ODD}" if n % 2 else "A001-ZF·2017-D10-0087895", "catalogue": "001",
                  "volume": n, "original_volume": None if n % 2 else "", "box": [] if n == 2 else "B<1>",
                  "shelf": "C库4排7柜5格", "items": [1, 2, n]}]
        if n == 3:
            paper.append({"reference_code": "", "catalogue": 0, "volume": False, "items": []})
        highlights = {"title": f"<em>{ODD}</em>户", "name": "&amp;<em>张&#39;三</em>、\"李四\"",
                      "text": "…申请人<em>张三</em>，身份证号110101********1234…"}
        items = ({"number": 1, "found_on": [{"file": "scans/p 1&2.tif", "page": 3}, {"file": "x/Y.PDF", "page": 1}]},
                 {"number": 2}) if n in (0, 5) else ({"number": 1},)
        hits.append(Hit(archive_id, f"{ODD}{n}", "320102" if n % 2 else "999999<&>", items, tuple(paper),
                        dict(list(highlights.items())[: n % 4]), 1.0, ("household", "unit", ODD)[n % 3], "v1"))
    return hits


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_rows_of_constructed_hits_and_facets_are_as_before(app: Flask, lang: str) -> None:
    facets = {"division": [FacetValue("320102", 3, 0), FacetValue("320102001", 2, 7), FacetValue("", 1, 1)],
              "type": [FacetValue("household", 5, 0), FacetValue(ODD, 1, 0)], "year": [FacetValue("2017", 12345, 0)],
              "security": [FacetValue("open", 1, 0), FacetValue("restricted", 2, 0)], "status": []}
    found = SearchPage(SearchResult(6, _hits(), {}), facets, {"320102": "玄武区<&>", "320102001": "梅园'街道"}, 1)
    for args in ({}, {"q": ODD, "division": "3201"}, {"year": "2017", "q": "a&b", "sort": "-year"}):
        with app.test_request_context("/search"):
            g.hsar_lang = lang
            new = [str(r) for r in hit_rows(found)]
            assert new == hit_rows_before(found)
            assert [(t, str(r)) for t, r in facet_rows(found, "/search", args)] == \
                facet_rows_before(found, "/search", args)
    assert sum(r.count('class="found-on"') for r in new) == 4 and "%3F" in new[2] and "&amp;" in new[3]


@pytest.fixture
def compared(app: Flask, monkeypatch) -> list[tuple[str, str]]:
    """Every search page rendered, with the page rendered from the former rows and form (same context)."""
    seen: list[tuple[str, str]] = []
    real = search_views.render_template

    def render(name: str, **context: object) -> str:
        page = real(name, **context)
        found, args = context["found"], context["args"]
        before = dict(context, search_form=Markup(render_template_string(
            FORM_BEFORE, args=args, advanced=searching.ADVANCED, sorts=searching.SORTS)))
        if found is not None:
            before["hit_rows"] = [Markup(r) for r in hit_rows_before(found)]
            before["facet_rows"] = [(t, Markup(r)) for t, r in facet_rows_before(found, url_for("search.search"), args)]
        seen.append((page, real(name, **before)))
        return page

    monkeypatch.setattr(search_views, "render_template", render)
    return seen


QUERIES = ["", "?q=住房", "?q=%3Cb%3E%26%22x%22&year=2024&sort=-year", "?type=household&division=3201&page=1",
           "?q=申请&page=2", "?q=(", "?q=张&name=x&sort=id"]


@pytest.mark.parametrize("username", ["admin", "reader", "xuanwu"])
def test_whole_pages_are_as_before(login, wh, compared, username) -> None:
    client = login(username)
    for lang in ("en", "zh"):  # zh last: the account's language is left as it was
        client.post("/lang", data={"lang": lang, "csrf_token": wh.csrf_token(client, "/search")})
        for query in QUERIES:
            response = client.get("/search" + query)
            assert response.status_code in (200, 400)
    assert len(compared) >= 2 * len(QUERIES)
    for page, before in compared:
        assert page == before
    assert any('<article class="hit">' in page for page, _ in compared)
    assert any(" open>" in page and " selected>" in page for page, _ in compared)
