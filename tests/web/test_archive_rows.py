"""The archive page's item rows made in one Python pass (repository/web/views/archive_rows.py) are, byte for
byte, what the template's loop printed before (with researchers' copies since: no download of a scan, "not given"
for a format without a copy): for each kind of user (documents openable or withheld, masked
or not), in both languages, with values that need escaping."""

from __future__ import annotations

import pytest
from flask import render_template_string

from repository.web import i18n
from repository.web.views import archive_rows
from repository.web.views import archives as archive_views

#: the template's loop as it was (archive.html before the rows moved into the view), one [[…]] per class
OLD = """{% set l_catalogue, l_volume, l_item, l_box = t('web.paper.catalogue'), t('web.paper.volume'), t('web.paper.item'), t('web.paper.box') %}
{%- set l_view, l_download, l_not_given = t('web.doc.view'), t('web.doc.download'), t('web.doc.no_copy_short') %}
{%- set docs, may_open = page.documents, page.may_open %}
{%- set viewer_stem = url_for('archives.viewer', archive_id=a.identifier, path='-')[:-1] %}
{%- set files_stem = url_for('archives.document', archive_id=a.identifier, path='-')[:-1] %}
{%- for group in a.items_by_class %}[[{% for item in group['items'] %}{% set p = item['paper'] %}
      <tr>
        <td>{{ item['number'] }}</td><td>{{ item['title'] }}</td><td>{{ item['date'] }}</td><td>{{ item['pages'] }}</td>
        <td class="paper">{{ l_catalogue }} {{ p['catalogue'] }} · {{ l_volume }} {{ p['volume'] }} · {{ l_item }} {{ p['item'] }} · {{ t('web.paper.pages', start=p['page_start'], end=p['page_end']) }} · {{ l_box }} {{ p['box'] }} · {{ t('web.shelf', **p['shelf']) }}</td>
        <td>{% for f in item['files'] %}{% set doc = docs['~%d.%d' % (item['number'], loop.index)] %}{% if may_open %}{% set info = doc[1] %}{% if info %}
<span class="doc">
{% if info['viewer'] not in ('download', 'none') %}<a href="{{ viewer_stem }}{{ doc[2] }}">{{ l_view }}</a>{% endif %}
{% if info['viewer'] == 'none' %}<small>{{ l_not_given }}</small>{% elif info['viewer'] != 'scan' %}<a href="{{ files_stem }}{{ doc[2] }}?download=1">{{ l_download }}</a>{% endif %}
<small>{{ doc[0] }} · {{ info['size']|size }}</small>
</span>
{% endif %}{% else %}<small>{{ doc[0] }}</small>{% endif %}
{% endfor %}</td>
      </tr>
      {% endfor %}]]{% endfor %}"""


@pytest.fixture
def compared(monkeypatch):
    """Every archive page rendered records (new rows, old rows) per class."""
    seen: list[tuple[list[str], list[str]]] = []
    real = archive_views.render_template

    def render(name, **context):
        page = context["page"]
        items = [i for g in page.data["items_by_class"] for i in g["items"]]
        if items:  # a value of each kind that needs escaping, and an odd file name
            items[0]["title"] = "<b>\"A&B's\"</b>"
            items[0]["paper"]["box"] = "<box>&"
        new = [str(r) for r in archive_rows.item_rows(page, i18n.current_lang())]
        old = render_template_string(OLD, **context).split("]]")[:-1]
        seen.append((new, [o.split("[[", 1)[1] for o in old]))
        context["item_rows"] = new
        return real(name, **context)

    monkeypatch.setattr(archive_views, "render_template", render)
    return seen


@pytest.mark.parametrize("username", ["admin", "reader", "xuanwu"])
def test_the_rows_are_what_the_template_printed(login, wh, archives, compared, username) -> None:
    client = login(username)
    shown = 0
    for lang in ("en", "zh"):  # zh last: the account's language is left as it was
        client.post("/lang", data={"lang": lang, "csrf_token": wh.csrf_token(client, "/search")})
        for archive_id in archives:
            response = client.get(f"/archives/{archive_id}")
            assert response.status_code in (200, 404)
            shown += response.status_code == 200
    assert shown and len(compared) == shown
    for new, old in compared:
        for n, o in zip(new, old, strict=True):
            assert n == o, next((i, n[i - 40:i + 40], o[i - 40:i + 40]) for i in range(len(n)) if n[:i + 1] != o[:i + 1])
    rows = ["".join(new) for new, _ in compared]
    assert any("&lt;b&gt;&#34;A&amp;B&#39;s&#34;&lt;/b&gt;" in r and "&lt;box&gt;&amp;" in r for r in rows)
    assert not any("<b>" in r for r in rows)  # the escaping was compared, and escapes
    if username == "reader":  # a researcher: documents of restricted archives withheld, of others shown
        assert any("<td><small>" in r for r in rows) and any('<span class="doc">' in r for r in rows)
