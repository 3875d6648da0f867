"""Suite-wide checks and settings.

Caches hsar writes (the prepared FIDO signature table under ``$XDG_CACHE_HOME/hsar``) go to a folder of
this test run, never to the user's own ``~/.cache``, so every run also builds the table once from the
shipped signature files. Every issue code in ``repository/data/codes.json`` must be raised by at least one test: when the whole
suite runs (no ``-k``, no file arguments), the session fails if a code was never built by
:func:`repository.codes.issue` in this process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from repository.codes import RAISED, catalogue

TESTS = Path(__file__).parent


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory):
    patch = pytest.MonkeyPatch()
    patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))  # inherited by child processes
    yield
    patch.undo()


def _whole_suite(config: pytest.Config) -> bool:
    args = [Path(a).resolve() for a in config.args]
    return not config.option.keyword and not config.option.markexpr and all(a == TESTS.resolve() or
                                                                              a == TESTS.parent.resolve()
                                                                              for a in args)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if exitstatus != 0 or not _whole_suite(session.config) or session.config.option.collectonly:
        return
    missing = sorted(set(catalogue()) - RAISED)
    if missing:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"issue codes never raised by any test: {', '.join(missing)}", red=True)
        session.exitstatus = 1
