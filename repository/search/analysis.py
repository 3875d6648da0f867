"""Chinese text analysis with jieba: one tokenizer, loaded once, shared by indexing, queries and both engines.

- Text is normalised first (NFKC, so full-width letters and digits become ASCII; then lower case).
- Indexing uses jieba's search mode: each precise-mode word plus the dictionary words inside it. jieba's own
  ``cut_for_search`` looks only at 2- and 3-character sub-words; here every in-dictionary sub-word of two or
  more characters counts, so ``公共租赁住房`` also yields ``租赁住房``.
- Queries and phrases use precise mode (``cut``), whose words are always among the indexed tokens of the
  same text.
- Text is split into runs of Han characters, of ASCII letters and digits, and of other letters; jieba
  segments the Han runs, the other runs are tokens as they are. Punctuation and spaces are dropped; so are
  tokens longer than 64 characters.

A Han run's segmentation is cached: item titles, form wording, addresses and names repeat across archives
and are segmented once.

Both engines index the tokens pre-tokenised, joined by spaces into fields with a whitespace tokenizer, so
Whoosh and Tantivy see the very same tokens. :func:`chinese_analyzer` gives the same tokens as a Whoosh
analyzer for callers that want Whoosh to analyse text itself. The user dictionary
``repository/data/jieba_userdict.txt`` holds housing-security terms (公共租赁住房, 廉租住房, 租金补贴, 年度复核,
实物配租, ...); the security types and income bands of :mod:`repository.model` are added to it at load time.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import unicodedata
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import jieba

from ..model import INCOME_BANDS, SECURITY_TYPES
from ..resources import DATA_DIR

USERDICT_PATH: Path = DATA_DIR / "jieba_userdict.txt"
MAX_TOKEN_CHARS = 64

# Runs of Han characters (segmented by jieba), of ASCII letters and digits (a decimal point and a per cent
# sign kept, as jieba does), and of other letters: each run is segmented on its own.
_BLOCK = re.compile(r"[\u4E00-\u9FD5]+|[a-z0-9]+(?:\.[0-9]+)?%?|[^\W_\u4E00-\u9FD5a-z0-9]+")
_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None


def tokenizer() -> jieba.Tokenizer:
    """The shared jieba tokenizer with the user dictionary, initialised on first use, quietly."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                jieba.setLogLevel(logging.WARNING)  # jieba logs its start-up to stderr otherwise
                tk = jieba.Tokenizer()
                tk.initialize()
                with open(USERDICT_PATH, "rb") as userdict:
                    tk.load_userdict(userdict)
                for word in (*SECURITY_TYPES, *INCOME_BANDS):
                    tk.add_word(word)
                _tokenizer = tk
    return _tokenizer


def normalize(text: str) -> str:
    """NFKC and lower case: the form every indexed token and every exact-match value takes."""
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKC", text).lower()


def _keep(token: str) -> bool:
    return len(token) <= MAX_TOKEN_CHARS and any(c.isalnum() for c in token)


def _subwords(word: str, freq: dict[str, int]) -> list[str]:
    """Dictionary words of two or more characters strictly inside ``word`` (longest last, like jieba)."""
    n = len(word)
    if n <= 2 or not any("\u4e00" <= c <= "\u9fd5" for c in word):
        return []
    return [word[i:i + k] for k in range(2, n) for i in range(n - k + 1) if freq.get(word[i:i + k])]


@lru_cache(maxsize=262_144)
def _han(block: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(precise-mode words, search-mode tokens) of one run of Han characters (tokens interned: the cache
    holds each distinct word once)."""
    tk = tokenizer()
    words = tuple(sys.intern(w) for w in tk.cut(block, HMM=True) if _keep(w))
    tokens: list[str] = []
    for w in words:
        tokens.extend(sys.intern(t) for t in _subwords(w, tk.FREQ))
        tokens.append(w)
    return words, tuple(tokens)


def _block(block: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if "\u4e00" <= block[0] <= "\u9fd5":
        return _han(block)
    one = (block,) if _keep(block) else ()
    return one, one


def blocks(text: str) -> list[str]:
    """The normalised blocks jieba segments one by one."""
    return _BLOCK.findall(normalize(text))


def index_tokens(text: str) -> list[str]:
    """Search-mode tokens of ``text``: what the index holds for it."""
    out: list[str] = []
    for b in blocks(text):
        out.extend(_block(b)[1])
    return out


def words(text: str) -> list[str]:
    """Precise-mode words of ``text``, in order: what queries and phrases look for."""
    out: list[str] = []
    for b in blocks(text):
        out.extend(_block(b)[0])
    return out


def _analyze(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    ws: list[str] = []
    ts: list[str] = []
    for b in blocks(text):
        w, t = _block(b)
        ws.extend(w)
        ts.extend(t)
    return tuple(ws), tuple(ts)


_analyze_short = lru_cache(maxsize=131_072)(_analyze)


def analyze(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(precise-mode words, search-mode tokens) of ``text`` in one pass; short texts are cached."""
    return _analyze_short(text) if len(text) <= 48 else _analyze(text)


def _positioned(text: str) -> Iterator[tuple[str, int, int, int]]:
    """(token, position, start, end) over the normalised text; sub-words share their word's position."""
    freq = tokenizer().FREQ
    norm = normalize(text)
    pos = 0
    for m in _BLOCK.finditer(norm):
        start = m.start()
        for w in _block(m.group())[0]:
            start = norm.index(w, start)
            for sub in _subwords(w, freq):
                offset = start + w.find(sub)
                yield sub, pos, offset, offset + len(sub)
            yield w, pos, start, start + len(w)
            pos += 1
            start += len(w)


def chinese_analyzer() -> Any:  # noqa: ANN401 - a whoosh analyzer (whoosh has no type hints)
    """A Whoosh analyzer giving :func:`index_tokens` tokens, with positions and offsets in normalised text."""
    from whoosh.analysis import Token, Tokenizer

    class JiebaTokenizer(Tokenizer):
        def __call__(self, value: str, positions: bool = False, chars: bool = False,
                     keeporiginal: bool = False, removestops: bool = True, start_pos: int = 0,
                     start_char: int = 0, mode: str = "", **kwargs: object) -> Iterator[Token]:
            t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
            for text, pos, start, end in _positioned(value):
                t.original = t.text = text
                t.boost = 1.0
                t.stopped = False
                if positions:
                    t.pos = start_pos + pos
                if chars:
                    t.startchar, t.endchar = start_char + start, start_char + end
                yield t

    return JiebaTokenizer()
