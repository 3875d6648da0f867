"""The archive page's item rows (each item of each material class: its number, title, date, pages, paper
reference, shelf, and its documents' view and download links), made in one Python pass per page and printed
by ``archive.html`` as they are.

Printed by the template, each item cost some twenty escaped values and a few translation calls; an archive
of a few dozen items spent most of its page there. The HTML is the one the template's loop printed, byte for
byte (``tests/web/test_archive_rows.py`` renders that loop and compares, in both languages, for each kind of
user).
"""

from __future__ import annotations

from typing import Any

from flask import url_for
from markupsafe import Markup

from ... import messages
from ...filerefs import ref
from .. import i18n
from ..escaping import escaped as _e

_SEP = " · "


def _stem(endpoint: str, archive_id: str) -> str:
    """The URL of ``endpoint`` for ``archive_id`` without its path, as the template built it."""
    return url_for(endpoint, archive_id=archive_id, path="-")[:-1]


def item_rows(page: Any, lang: str) -> list[Markup]:  # noqa: ANN401 - gateway.archives.ArchivePage
    """Per material class of ``page`` (in its order), the ``<tr>`` rows of its items."""
    a = page.data
    texts = messages.catalogue()
    l_catalogue, l_volume, l_item, l_box, l_view, l_download, l_not_given = (_e(texts[k][lang]) for k in (
        "web.paper.catalogue", "web.paper.volume", "web.paper.item", "web.paper.box", "web.doc.view", "web.doc.download",
        "web.doc.no_copy_short"))
    docs, may_open = page.documents, page.may_open
    viewer_stem, files_stem = _e(_stem("archives.viewer", a["identifier"])), _e(_stem("archives.document", a["identifier"]))
    size = i18n.size
    out = []
    for group in a["items_by_class"]:
        rows = []
        for item in group["items"]:
            p = item["paper"]
            pages = _e(messages.text("web.paper.pages", lang, start=p["page_start"], end=p["page_end"]))
            shelf = _e(messages.text("web.shelf", lang, **p["shelf"]))
            files = []
            for place in range(1, len(item["files"]) + 1):  # (each file by its reference: repository.filerefs)
                name, info, quoted = docs[ref(item["number"], place)]
                if may_open:
                    if info:
                        shown = info["viewer"]
                        view = (f'<a href="{viewer_stem}{_e(quoted)}">{l_view}</a>'
                                if shown not in ("download", "none") else "")
                        if shown == "none":  # a researcher receives no copy of this format
                            fetch = f"<small>{l_not_given}</small>"
                        elif shown == "scan":  # a researcher reads a scan's OCR text in the viewer only
                            fetch = ""
                        else:
                            fetch = f'<a href="{files_stem}{_e(quoted)}?download=1">{l_download}</a>'
                        files.append(f'\n<span class="doc">\n{view}\n{fetch}'
                                     f'\n<small>{_e(name)}{_SEP}{_e(size(info["size"]))}</small>\n</span>\n\n')
                    else:
                        files.append("\n")
                else:
                    files.append(f"<small>{_e(name)}</small>\n")
            rows.append(
                f'\n      <tr>\n        <td>{_e(item["number"])}</td><td>{_e(item["title"])}</td><td>{_e(item["date"])}'
                f'</td><td>{_e(item["pages"])}</td>\n        <td class="paper">{l_catalogue} {_e(p["catalogue"])}{_SEP}'
                f'{l_volume} {_e(p["volume"])}{_SEP}{l_item} {_e(p["item"])}{_SEP}{pages}{_SEP}{l_box} {_e(p["box"])}'
                f'{_SEP}{shelf}</td>\n        <td>{"".join(files)}</td>\n      </tr>\n      ')
        out.append(Markup("".join(rows)))
    return out
