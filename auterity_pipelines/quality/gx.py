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
    return validate_by(frame, groups, keys)[None]


def validate_by(
    frame, groups: dict[str, list[Expect]], keys: list[str], by: str | None = None
) -> dict[object, dict[str, Outcome]]:
    """As `validate_groups`, with an outcome per value of column `by` (a day of a history month)
    from the one run: GX names every failing row, and each part is judged on its own rows, with
    each expectation's `mostly` applied to them. Uniqueness is asked within a part."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    definition = _batch_definition()  # the context first: a suite cannot exist without one
    suite = gx.ExpectationSuite(name="+".join(groups))
    for group, expects in groups.items():
        for e in expects:
            kwargs = dict(e.kwargs)
            if by and "column_list" in kwargs:
                kwargs["column_list"] = [*kwargs["column_list"], by]
            suite.add_expectation(getattr(gxe, e.kind)(**kwargs, meta={"check": group}))
    batch = definition.get_batch(batch_parameters={"dataframe": frame})
    # SUMMARY, and rows named by their frame index: asking GX for key columns makes it visit
    # every failing row in Python, which a day of a million rows can be. Per part, every
    # failing row is needed to count them (COMPLETE; still indices only).
    result = batch.validate(
        suite,
        result_format={
            "result_format": "COMPLETE" if by else "SUMMARY",
            "partial_unexpected_count": FAILING_ROWS,
        },
    )
    part_of = frame[by] if by else None
    sizes = part_of.value_counts().to_dict() if by else {None: len(frame)}
    outcomes = {part: {group: Outcome(passed=True, rows=n) for group in groups} for part, n in sizes.items()}
    shown = [k for k in keys if k in frame.columns]
    for r in result.results:
        config, found = r.expectation_config, r.result or {}
        columns = (
            [config.kwargs["column"]]
            if config.kwargs.get("column")
            else list(config.kwargs.get("column_list") or [])
        )
        name = f"{config.type}({','.join(c for c in columns if c != by)})"
        failing = found.get("unexpected_index_list") if by else found.get("partial_unexpected_index_list")
        if by and failing is not None:  # a row-level expectation: judged part by part
            _judge_parts(frame, part_of, sizes, outcomes, config, name, columns, failing, shown)
            continue
        if r.success:
            continue
        if "unexpected_count" in found:
            detail = f"{found['unexpected_count']} of {len(frame)} rows unexpected"
        elif r.exception_info and r.exception_info.get("raised_exception"):
            detail = f"could not be evaluated: {r.exception_info.get('exception_message')}"
        else:
            detail = f"observed {_plain(found.get('observed_value'))}"
        for part in outcomes:
            outcome = outcomes[part][config.meta["check"]]
            _fail(outcome, f"{name}: {detail}", config.type, frame, failing or [], [*shown, *columns])
    return outcomes


def _judge_parts(frame, part_of, sizes, outcomes, config, name, columns, failing, shown) -> None:
    mostly = config.kwargs.get("mostly", 1.0)
    failing_parts = part_of.loc[failing]
    bad = failing_parts.value_counts().to_dict()
    # GX leaves missing values out of a column expectation's share, so the parts do too.
    present = (
        frame.groupby(part_of, observed=True)[columns[0]].count().to_dict() if len(columns) == 1 else sizes
    )
    for part, count in bad.items():
        rows = present.get(part, 0)
        if count and (rows == 0 or (rows - count) / rows < mostly):
            indices = [i for i, p in zip(failing, failing_parts) if p == part]
            outcome = outcomes[part][config.meta["check"]]
            _fail(
                outcome,
                f"{name}: {count} of {sizes[part]} rows unexpected",
                config.type,
                frame,
                indices,
                [*shown, *columns],
            )


def _fail(outcome: Outcome, failure: str, kind: str, frame, indices: list, shown: list[str]) -> None:
    outcome.passed = False
    outcome.failures.append(failure)
    shown = list(dict.fromkeys(c for c in shown if c in frame.columns))
    for index in indices[: FAILING_ROWS - len(outcome.failing_rows)]:
        row = frame.loc[index, shown]
        outcome.failing_rows.append({"expectation": kind, **{k: _plain(row[k]) for k in shown}})


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
