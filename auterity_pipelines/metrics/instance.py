"""Metrics the Dagster instance holds the truth of: runs by job and status, their durations, and
the queue. One aggregate over the run storage's own table (a 300-rooftop instance has a hundred
thousand runs a year: loading their records would not fit in a scrape)."""

from __future__ import annotations

from sqlalchemy import func, select

from auterity_pipelines.metrics.families import Family, Histogram, bucket_columns, gauge

RUN_SECONDS = (5, 15, 30, 60, 120, 300, 600, 1800, 3600, 10800)
FINISHED = ("SUCCESS", "FAILURE", "CANCELED")
# Served from a job's first run on, at zero: Prometheus counts a job's first failure only as an
# increase of a series it has already seen.
AT_ZERO = ("SUCCESS", "FAILURE")


def collect(instance) -> list:
    from dagster._core.storage.runs.schema import RunsTable

    runs = RunsTable.c
    counted = Family("counter", "auterity_runs", "Runs by job and status.", ["job", "status"])
    durations = Histogram(
        "auterity_run_duration_seconds", "How long finished runs took, by job.", ["job"], RUN_SECONDS
    )
    queued = 0
    with instance.run_storage.connect() as conn:
        rows = conn.execute(
            select(
                runs.pipeline_name,
                runs.status,
                func.count(),
                *bucket_columns(
                    runs.end_time - runs.start_time, durations.bounds(), runs.status.in_(FINISHED)
                ),
            ).group_by(runs.pipeline_name, runs.status)
        ).all()
    for job, status, n, *timed in rows:
        for outcome in AT_ZERO:
            counted.add([job, outcome], 0)
        counted.add([job, status], n)
        durations.add([job], timed)
        queued += n if status == "QUEUED" else 0
    return [
        counted.family(),
        durations.family(),
        gauge("auterity_run_queue_depth", "Runs waiting in the run queue.", queued),
    ]
