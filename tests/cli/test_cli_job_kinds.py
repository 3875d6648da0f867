"""Every kind of background job the worker runs is named where a person meets kinds on the command line:
``hsar worker --help`` and ``hsar job list --kind`` (a kind added to the worker and forgotten there was a
defect twice: export and OCR, then paper reconciliation)."""

from __future__ import annotations

from click.testing import CliRunner

from repository.cli import cli
from repository.jobs.tasks import RUNNERS


def test_the_worker_help_and_the_job_list_name_every_kind() -> None:
    worker = CliRunner().invoke(cli, ["worker", "--help"])
    listing = CliRunner().invoke(cli, ["job", "list", "--help"])
    assert worker.exit_code == 0 and listing.exit_code == 0
    assert set(RUNNERS) >= {"ingest", "paper"}
    for kind in RUNNERS:
        assert kind in worker.output.lower(), kind
        assert kind in listing.output, kind
