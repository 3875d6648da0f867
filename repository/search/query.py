"""The query language, parsed once for both engines.

Syntax (words are ANDed; quotes and colons may be full-width)::

    王秀英                       plain word: any field (names, titles, addresses, text, identifiers)
    "公共租赁住房 年度复核"        quoted phrase: the words in this order
    name:王秀英  姓名:王秀英       field:value, for the fields of repository.search.schema (Chinese aliases too)
    address:"幸福家园 3栋"        field with a quoted value
    ref:A001-WS·2019*             trailing * on an exact-match field: prefix
    year:2019..2021  year:2019..  year:..2021   year ranges (inclusive)
    租金补贴 OR 廉租住房          either side (OR binds the terms next to it)
    -退出  NOT 退出               leave out archives matching the term

A malformed query raises :class:`~repository.errors.QuerySyntaxError` whose message (``query.*`` in the catalogue) says
what is wrong and where: unbalanced quotes, an unknown field, a field without a value, a bad year or range, a
dangling OR. A query that is not blank but leaves nothing to search for once analysed (only punctuation,
symbols or emoji) is refused too, by :func:`repository.search.plan.build`.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from ..errors import QuerySyntaxError
from .schema import QUERY_FIELDS, YEAR, QueryField, lookup

YEAR_MIN, YEAR_MAX = 1900, 2100
_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\uff02": '"', "\u300c": '"', "\u300d": '"'})


@dataclass(frozen=True)
class Atom:
    """One term of a query: ``field`` None means the default field (every word of the archive)."""

    field: QueryField | None
    value: str
    phrase: bool = False
    negated: bool = False


@dataclass(frozen=True)
class ParsedQuery:
    """Groups are ANDed; the atoms of a group are ORed. Negated atoms stand alone in their group.

    ``text`` is the query as parsed (normalised): a query that is not blank but whose atoms leave nothing to
    search for is an error, not a match of everything.
    """

    groups: tuple[tuple[Atom, ...], ...]
    text: str = ""

    @property
    def atoms(self) -> list[Atom]:
        return [a for g in self.groups for a in g]


def _field_names() -> str:
    return ", ".join(f.name for f in QUERY_FIELDS)


def _read_quoted(text: str, i: int) -> tuple[str, int]:
    """The text between the quote at ``i`` and its closing quote; index after it."""
    end = text.find('"', i + 1)
    if end < 0:
        raise QuerySyntaxError(msgid="query.unbalanced_quote", position=i + 1)
    return text[i + 1:end], end + 1


def _read_bare(text: str, i: int) -> tuple[str, int]:
    j = i
    while j < len(text) and not text[j].isspace() and text[j] != '"':
        j += 1
    return text[i:j], j


def _looks_like_field(name: str) -> bool:
    return bool(name) and not name[0].isdigit() and all(c.isalpha() or c == "_" for c in name)


def _atom(text: str, i: int, negated: bool) -> tuple[Atom | None, int]:
    """Read one atom (word, phrase or field:value) starting at ``i``."""
    if text[i] == '"':
        value, j = _read_quoted(text, i)
        return (Atom(None, value, True, negated) if value.strip() else None), j
    word, j = _read_bare(text, i)
    name, colon, rest = word.partition(":")
    if not colon or not _looks_like_field(name):
        return Atom(None, word, False, negated), j
    field = lookup(name)
    if field is None:
        raise QuerySyntaxError(msgid="query.unknown_field", name=repr(name), fields=_field_names())
    phrase = False
    if not rest and j < len(text) and text[j] == '"':
        rest, j = _read_quoted(text, j)
        phrase = True
    if not rest.strip():
        raise QuerySyntaxError(msgid="query.field_needs_value", name=repr(name), bare=name)
    if field.kind == YEAR:
        year_range(rest)  # validate early, with the message of year_range
    return Atom(field, rest, phrase, negated), j


def _lex(text: str) -> list[Atom | str]:
    """Atoms and the operator ``OR`` in order."""
    out: list[Atom | str] = []
    i, negate = 0, False
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        if text[i] == "-" and i + 1 < len(text) and not text[i + 1].isspace():
            negate, i = True, i + 1
            continue
        word, j = _read_bare(text, i)
        if word in ("OR", "AND", "NOT"):
            if word == "OR":
                out.append(word)
            negate, i = negate or word == "NOT", j
            continue
        atom, i = _atom(text, i, negate)
        negate = False
        if atom is not None:
            out.append(atom)
    if negate:
        raise QuerySyntaxError(msgid="query.not_without_term")
    return out


def _group(tokens: list[Atom | str]) -> tuple[tuple[Atom, ...], ...]:
    groups: list[list[Atom]] = []
    pending_or = False
    for t in tokens:
        if t == "OR":
            if not groups or pending_or:
                raise QuerySyntaxError(msgid="query.or_sides")
            pending_or = True
            continue
        assert isinstance(t, Atom)
        if pending_or:
            if t.negated or groups[-1][-1].negated:
                raise QuerySyntaxError(msgid="query.negated_in_or")
            groups[-1].append(t)
            pending_or = False
        else:
            groups.append([t])
    if pending_or:
        raise QuerySyntaxError(msgid="query.or_sides")
    return tuple(tuple(g) for g in groups)


def parse(text: str) -> ParsedQuery:
    """Parse a query; an empty query matches every archive (filters still apply)."""
    text = unicodedata.normalize("NFKC", text or "").translate(_QUOTES)
    return ParsedQuery(_group(_lex(text)), text.strip())


def year_range(value: str) -> tuple[int, int]:
    """``2019`` -> (2019, 2019); ``2019..2021``, ``2019..`` and ``..2021`` are inclusive ranges."""
    lo_text, dots, hi_text = value.strip().partition("..")
    if not dots:
        hi_text = lo_text
    bounds: list[int] = []
    for part, default in ((lo_text, YEAR_MIN), (hi_text, YEAR_MAX)):
        part = part.strip()
        if not part and dots:
            bounds.append(default)
        elif len(part) == 4 and part.isascii() and part.isdigit() and YEAR_MIN <= int(part) <= YEAR_MAX:
            bounds.append(int(part))
        else:
            raise QuerySyntaxError(msgid="query.bad_year", value=repr(value), min=YEAR_MIN, max=YEAR_MAX)
    if bounds[0] > bounds[1]:
        raise QuerySyntaxError(msgid="query.bad_year_range", value=repr(value), start=bounds[0], end=bounds[1])
    return bounds[0], bounds[1]
