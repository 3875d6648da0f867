"""jieba analysis: the user dictionary, search-mode tokens, precise-mode query words, quiet start-up."""

from __future__ import annotations

import subprocess
import sys

from repository.search import analysis


def test_user_dictionary_keeps_housing_terms_whole():
    for term in ("公共租赁住房", "廉租住房", "租金补贴", "年度复核", "实物配租"):
        assert analysis.words(f"申请{term}的家庭") == ["申请", term, "的", "家庭"]
    assert analysis.USERDICT_PATH.is_file()


def test_search_mode_adds_dictionary_words_inside_words():
    tokens = analysis.index_tokens("公共租赁住房年度复核表")
    assert {"公共", "租赁", "住房", "公共租赁住房", "年度", "复核", "年度复核", "表"} <= set(tokens)
    # every precise-mode word of a text is among its indexed tokens, so queries always find their text
    text = "申请人王秀英，身份证号320102195803152347，现居住于幸福家园小区3栋502室。"
    assert set(analysis.words(text)) <= set(analysis.index_tokens(text))


def test_normalisation_and_punctuation():
    assert analysis.words("ＡＢＣ１２３，B0012。") == ["abc123", "b0012"]
    assert analysis.index_tokens("，。！ ") == []


def test_whoosh_analyzer_gives_the_same_tokens_with_positions():
    text = "公共租赁住房年度复核表，王秀英"
    tokens = [(t.text, t.pos, t.startchar, t.endchar)
              for t in analysis.chinese_analyzer()(text, positions=True, chars=True)]
    assert [t[0] for t in tokens] == analysis.index_tokens(text)
    positions = {t[0]: t[1] for t in tokens}
    assert positions["公共"] == positions["公共租赁住房"] == 0 and positions["年度复核"] == 1
    assert all(analysis.normalize(text)[start:end] == token for token, _, start, end in tokens)


def test_jieba_start_up_is_quiet():
    code = "from repository.search import analysis; analysis.words('公共租赁住房')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stderr == "" and proc.stdout == ""
