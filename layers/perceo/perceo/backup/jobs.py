"""The scheduled `export` job: every project's export, gzipped, to `exports/<project>/<day>.jsonl.gz` in the backup
bucket (its lifecycle rule expires old ones). Resumable and recorded like the analyzer's jobs
(`perceo.analyzer.jobs.run_over_projects`); writing a day's object again replaces it, so a re-run is harmless."""

from __future__ import annotations

import datetime as dt
import gzip
from collections.abc import Callable
from typing import TYPE_CHECKING

from perceo.analyzer.jobs import Done, JobLog, JobRecord, run_over_projects
from perceo.models import now_ms

if TYPE_CHECKING:
    from perceo.analytics.ports import ObjectStore
    from perceo.backup.service import BackupService

PREFIX = "exports/"


def export_key(project_id: str, epoch_ms: int) -> str:
    """Where a project's export of the UTC day of `epoch_ms` goes."""
    day = dt.datetime.fromtimestamp(epoch_ms / 1000, tz=dt.UTC).date().isoformat()
    return f"{PREFIX}{project_id}/{day}.jsonl.gz"


def run_exports(
    backups: BackupService,
    project_ids: list[str],
    objects: ObjectStore,
    job_log: JobLog,
    *,
    remaining_ms: Callable[[], int] | None = None,
    clock: Callable[[], int] = now_ms,
) -> JobRecord:
    """Export each project (resuming after the last run's cursor) and record the run."""

    def export(project_id: str) -> Done:
        text = "".join(f"{line}\n" for line in backups.export_lines(project_id))
        # mtime=0: the same export compresses to the same bytes.
        objects.put(export_key(project_id, clock()), gzip.compress(text.encode("utf-8"), mtime=0))
        return Done(created=1)

    return run_over_projects("export", project_ids, export, job_log, remaining_ms=remaining_ms, clock=clock)
