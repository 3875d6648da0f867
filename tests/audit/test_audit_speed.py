"""What keeps an audit's own CPU low (issue 15, audit speed): modules an audit does not need stay unloaded,
and the format check does not parse a PREMIS document that cannot name a refused format."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from repository.audit.work import may_name

ROOT = Path(__file__).resolve().parents[2]
REFUSED = frozenset({"fmt/18", "x-fmt/409"})


def _loaded(code: str, *flags: str) -> list[str]:
    out = subprocess.run([sys.executable, *flags, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); {code}; "
                          "print(' '.join(sorted(sys.modules)))"], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_the_audit_command_loads_no_mail_nor_package_metadata_nor_signer_stack() -> None:
    loaded = _loaded("import repository.cli, repository.services.audit")
    for module in ("smtplib", "importlib.metadata", "pyhanko.sign", "aiohttp"):
        assert module not in loaded, module


@pytest.mark.parametrize(("document", "named"), [
    (b"<?xml version='1.0' encoding='UTF-8'?><p><k>fmt/1</k><k>fmt/180</k></p>", False),
    (b"<?xml version='1.0' encoding='UTF-8'?><p><k>fmt/18</k></p>", True),
    (b"<p><k><!-- a comment first -->x-fmt/409</k></p>", True),
    (b"<p><k>fmt&#47;18</k></p>", True),  # a character reference: parsed
    (b"<p><k><![CDATA[fmt/18]]></k></p>", True),
    (b"<?xml version='1.0' encoding='UTF-7'?><p/>", True),  # another encoding: parsed
    (b"\xef\xbb\xbf<p><k>fmt/18</k></p>", True),  # not starting with '<': parsed
    ("<p><k>fmt/18</k></p>".encode("utf-16"), True),
])
def test_premis_is_parsed_whenever_it_may_name_a_refused_format(document: bytes, named: bool) -> None:
    assert may_name(document, REFUSED) is named


def test_a_policy_without_refused_formats_never_parses() -> None:
    assert not may_name(b"<p><k>fmt/18</k></p>", frozenset())


def test_an_unusual_puid_is_searched_for_by_parsing() -> None:
    assert may_name(b"<p><k>x</k></p>", frozenset({"a&b"}))
