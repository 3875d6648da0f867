"""Errors of the management-system exports (:mod:`.exports`): every problem of one export, gathered.

Like bagit-python's validation, a conversion does not stop at the first problem: each independent step runs
under :class:`Gather`, and :class:`ExportError` carries every problem found, each a message of the catalogue
(``export.*``) that names its field and is shown in the reader's language.
"""

from __future__ import annotations

from typing import Any

from ..messages import Text


class ExportError(ValueError):
    """The export cannot be converted: ``texts`` holds every problem found (each names its field)."""

    def __init__(self, *texts: Text) -> None:
        self.texts = texts
        super().__init__(texts[0] if len(texts) == 1 else Text.of("export.errors", count=len(texts), errors=texts))



class Gather:
    """Collects the errors of independent steps, so that one run reports every problem of an export."""

    def __init__(self) -> None:
        self.texts: list[Text] = []

    def __call__(self, step: Any, default: Any = None) -> Any:  # noqa: ANN401 - the step's own value
        try:
            return step()
        except ExportError as exc:
            self.texts += exc.texts
            return default

    def check(self) -> None:
        if self.texts:
            raise ExportError(*self.texts)
