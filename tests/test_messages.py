"""The message catalogue: every entry in both languages, rendered per language, errors rendered by key."""

from __future__ import annotations

import pytest

from repository import messages
from repository.errors import ConfigError, HsarError


def test_every_message_has_both_languages_and_the_same_placeholders():
    import string

    for key, entry in messages.catalogue().items():
        assert set(entry) == set(messages.LANGS), key
        fields = [{f for _, f, _, _ in string.Formatter().parse(entry[lang]) if f} for lang in messages.LANGS]
        assert fields[0] == fields[1], f"{key}: placeholders differ between languages: {fields}"


def test_text_renders_in_the_asked_language_and_defaults_to_chinese():
    assert messages.text("error.internal", "en", detail="x") == "internal error: x"
    assert messages.text("error.internal", "zh-CN", detail="x") == "内部错误：x"
    assert messages.text("error.internal", "fr", detail="x") == "内部错误：x"
    assert messages.text("error.internal", "en") == "internal error: {detail}"
    with pytest.raises(KeyError):
        messages.text("no.such.key", "en")


def test_an_error_raised_by_key_renders_per_language():
    err = ConfigError(msgid="error.internal", detail="boom")
    assert str(err) == "internal error: boom"
    assert err.render("zh") == "内部错误：boom" and err.render("en") == "internal error: boom"
    assert err.code == "CONFIG"
    legacy = HsarError("as it was", "X1")
    assert legacy.render("zh") == "as it was" and legacy.code == "X1"


def test_a_broken_catalogue_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "data" / "messages"
    folder.mkdir(parents=True)
    (folder / "a.json").write_text('{"k": {"zh": "甲", "en": ""}}', "utf-8")

    class Files:
        def joinpath(self, _name: str):
            return folder

    monkeypatch.setattr(messages.resources, "files", lambda _pkg: Files())
    messages.catalogue.cache_clear()
    try:
        with pytest.raises(messages.CatalogueError):
            messages.catalogue()
    finally:
        monkeypatch.undo()
        messages.catalogue.cache_clear()


def test_labels_fall_back_to_the_value():
    assert messages.label("status", "no-such-status", "en") == "no-such-status"


def test_one_way_to_show_an_undecodable_file_name(tmp_path):
    import os

    from repository.bags.scan import display
    from repository.preservation.copies import printable

    raw = os.fsencode(tmp_path) + b"/bad\xffname.pdf"
    with open(raw, "wb"):
        pass
    [name] = os.listdir(tmp_path)  # decoded by Python with a surrogate escape
    assert messages.printable(name) == "bad\\xffname.pdf" == display(name) == printable(name)
    assert messages.printable("档案.pdf") == "档案.pdf" and messages.printable("\ud800") == "\\ud800"


def test_a_label_parameter_follows_the_language_of_the_message():
    err = ConfigError(msgid="config.wrong_type", source="s", key="k", type=messages.Label("type", "int"), got="x")
    assert err.render("zh") == "s: k 必须是整数（int），而不是 x" and str(err) == "s: k must be int, not x"


def test_aip_member_paths_are_spelled_once():
    from repository.catalog import rebuild
    from repository.ingest import aip
    from repository.preservation import aip_layout, signing

    assert rebuild.DESCRIPTIVE is aip.DESCRIPTIVE is aip_layout.DESCRIPTIVE == "metadata/descriptive.xml"
    assert signing.SIGNATURE_FILE is aip_layout.SIGNATURE_FILE
