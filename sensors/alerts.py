"""Alerts: every failed run is announced, with its link and its error."""

import dagster as dg


@dg.run_failure_sensor(
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Posts each failed run, with its UI link and error, to the alert webhook and/or email.",
)
def alert_on_run_failure(context: dg.RunFailureSensorContext) -> None:
    from resources.alerts import run_alert, send

    run = context.dagster_run
    error = context.failure_event.message or "the run failed"
    step_errors = [
        f"{e.step_key}: {_root_cause(e.event_specific_data.error)}"
        for e in context.get_step_failure_events()
        if e.event_specific_data and e.event_specific_data.error
    ]
    alert = run_alert(
        run.job_name, run.run_id, run.tags.get("dagster/partition"), "\n".join(step_errors) or error
    )
    used = send(alert)
    context.log.info(f"alerted by {', '.join(used)}" if used else "no alert channel is configured")


def _root_cause(error) -> str:
    """The innermost error: Dagster wraps what the code raised in its own step error."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return error.message.strip()
