"""Work run in a forked child (:mod:`repository.jobs.forked`): its answer and progress come back, its memory
does not stay, and what it raised, or its death, is raised in the parent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from repository.errors import ConfigError
from repository.jobs.forked import ForkedError, in_child


def _rss_kb() -> int:
    line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith("VmRSS:"))
    return int(line.split()[1])


def test_the_answer_and_the_progress_come_back_from_another_process() -> None:
    seen: list[tuple[int, int]] = []

    def work(progress):  # noqa: ANN001, ANN202
        for n in range(3):
            progress(n + 1, 3)
        return {"pid": os.getpid(), "items": list(range(5))}

    answer = in_child(work, lambda done, total: seen.append((done, total)))
    assert answer["items"] == [0, 1, 2, 3, 4] and answer["pid"] != os.getpid()
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_the_memory_of_the_work_goes_with_the_child() -> None:
    before = _rss_kb()

    def work(progress):  # noqa: ANN001, ANN202 - about 400 MB of small objects, as a large reconciliation makes
        held = [(n, str(n)) for n in range(3_000_000)]
        return len(held)

    assert in_child(work) == 3_000_000
    assert _rss_kb() - before < 50_000  # kB: the parent did not grow by the child's work


def test_what_the_child_raised_is_raised_here() -> None:
    def refused(progress):  # noqa: ANN001, ANN202
        raise ConfigError(msgid="scheduler.no_jobs", file="hsar.toml")

    with pytest.raises(ConfigError) as raised:
        in_child(refused)
    assert raised.value.code == "CONFIG" and "hsar.toml" in str(raised.value)

    class Unpicklable(Exception):
        def __reduce__(self):  # noqa: ANN204
            raise TypeError("not this one")

    def odd(progress):  # noqa: ANN001, ANN202
        raise Unpicklable("a local exception class")

    with pytest.raises(ForkedError, match="Unpicklable: a local exception class"):
        in_child(odd)


def test_a_child_that_dies_without_an_answer_is_an_error() -> None:
    with pytest.raises(ForkedError, match=r"hsar-test ended without an answer \(exit status 7\)"):
        in_child(lambda progress: os._exit(7), name="hsar-test")
