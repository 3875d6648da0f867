"""Hit rendering's quicker normal form (full-width punctuation replaced before NFKC) gives exactly the form
every indexed token takes (:func:`repository.search.analysis.normalize`), so highlights light up the same words."""

from __future__ import annotations

import random

from repository.search import analysis, hits


def test_the_quick_normal_form_is_nfkc_and_lower_case_on_any_text() -> None:
    samples = ["申请人潘伟，身份证号320118199712011395，家庭成员2人：（月收入2820元）！？",
               "ＡＢＣ　ｘｙｚ１２３；「公共租赁住房」", "Ⅻ ﬁ ㍿ ㌔ ½ ＄１００", "plain ascii TEXT", "", "王*、李**",
               "e\u0301 ｅ\u0301 Å Ω K"]
    rng = random.Random(13)
    alphabet = [chr(c) for c in (*range(0x20, 0x250), *range(0x2000, 0x2200), *range(0x3000, 0x3100),
                                 *range(0x4E00, 0x4E40), *range(0xF900, 0xF920), *range(0xFE30, 0xFFEF))]
    samples += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(20_000)]
    for text in samples:
        assert hits._nfkc_lower(text) == analysis.normalize(text), repr(text)  # noqa: SLF001


def test_a_match_in_text_with_full_width_punctuation_is_lit_where_it_stands() -> None:
    pattern = hits._pattern(["2人:(月收入"])  # noqa: SLF001 - the query's words, normalised
    assert hits.fragment("家庭成员２人：（月收入2820元）", pattern) == "家庭成员<em>２人：（月收入</em>2820元）"
