"""Reading a request's form: a multipart body werkzeug cannot parse (a part's headers not in UTF-8, such as
a file name in other bytes; no boundary; a broken part) is refused as such, 400 ``WEB-FORM`` on the pages
and 400 ``API-FORM`` in the API (:class:`UnreadableForm`), before anything reads it further. werkzeug's own
parser reads such a body as an empty form, silently: the CSRF check then refused a page's form as one without
its token (``WEB-CSRF``) and the API's upload as one without a file (``API-INGEST-NO-FILE``)."""

from __future__ import annotations

from typing import IO, Any

from flask import Flask, Request
from werkzeug.exceptions import BadRequest
from werkzeug.formparser import FormDataParser


class UnreadableForm(BadRequest):
    """The request's form could not be read (answered 400 with a code of its own, never a traceback)."""

    description = "The form could not be read."


class _FormParser(FormDataParser):
    """werkzeug's parser, not silent: a body it cannot parse raises :class:`UnreadableForm`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401 - werkzeug's own arguments
        super().__init__(*args, **{**kwargs, "silent": False})

    def parse(self, stream: IO[bytes], mimetype: str, content_length: int | None,
              options: dict[str, str] | None = None) -> Any:  # noqa: ANN401 - werkzeug's t_parse_result
        try:
            return super().parse(stream, mimetype, content_length, options)
        except ValueError:  # UnicodeDecodeError of a part's headers among them
            raise UnreadableForm() from None


class FormRequest(Request):
    form_data_parser_class = _FormParser


def install(app: Flask) -> None:
    app.request_class = FormRequest
