"""Great Expectations 1.x over a pandas frame: one ephemeral context per process, results made small."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field

from auterity_pipelines.quality.suites import FAILING_ROWS, Expect


@dataclass
class Outcome:
    passed: bool
    rows: int
    failures: list[str] = field(default_factory=list)  # one line per failed expectation
    failing_rows: list[dict] = field(default_factory=list)  # at most FAILING_ROWS, keys and value

    def summary(self) -> str:
        return "; ".join(self.failures) if self.failures else f"{self.rows} rows passed"


@functools.cache
def _batch_definition():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas("auterity").add_dataframe_asset("frame")
    return asset.add_batch_definition_whole_dataframe("whole")


def validate(frame, expects: list[Expect], keys: list[str], name: str) -> Outcome:
    """Validate `frame` against the expectations; failing rows are named by `keys`."""
    return validate_groups(frame, {name: expects}, keys)[name]


def validate_groups(frame, groups: dict[str, list[Expect]], keys: list[str]) -> dict[str, Outcome]:
    """Several checks' expectations on one frame in a single Great Expectations run, an outcome each.

    One run instead of one per check: most of a small frame's cost is GX's own, per run.
    """
    import great_expectations as gx
    import great_expectations.expectations as gxe

    definition = _batch_definition()  # the context first: a suite cannot exist without one
    suite = gx.ExpectationSuite(name="+".join(groups))
    for group, expects in groups.items():
        for e in expects:
            suite.add_expectation(getattr(gxe, e.kind)(**e.kwargs, meta={"check": group}))
    batch = definition.get_batch(batch_parameters={"dataframe": frame})
    # SUMMARY, and rows named by their frame index: asking GX for key columns or COMPLETE
    # results makes it visit every failing row in Python, which a day of a million rows can be.
    result = batch.validate(
        suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": FAILING_ROWS}
    )
    outcomes = {group: Outcome(passed=True, rows=len(frame)) for group in groups}
    for r in result.results:
        if r.success:
            continue
        config = r.expectation_config
        outcome = outcomes[config.meta["check"]]
        outcome.passed = False
        columns = (
            [config.kwargs["column"]]
            if config.kwargs.get("column")
            else list(config.kwargs.get("column_list") or [])
        )
        found = r.result or {}
        if "unexpected_count" in found:
            detail = f"{found['unexpected_count']} of {len(frame)} rows unexpected"
        elif r.exception_info and r.exception_info.get("raised_exception"):
            detail = f"could not be evaluated: {r.exception_info.get('exception_message')}"
        else:
            detail = f"observed {_plain(found.get('observed_value'))}"
        outcome.failures.append(f"{config.type}({','.join(columns)}): {detail}")
        shown = list(dict.fromkeys([*(k for k in keys if k in frame.columns), *columns]))
        for index in (found.get("partial_unexpected_index_list") or [])[
            : FAILING_ROWS - len(outcome.failing_rows)
        ]:
            row = frame.loc[index, shown]
            outcome.failing_rows.append({"expectation": config.type, **{k: _plain(row[k]) for k in shown}})
    return outcomes


def _plain(value):
    """A JSON-safe value: numpy scalars and timestamps become Python values or text."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if hasattr(value, "item"):
        try:
            return value.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)
