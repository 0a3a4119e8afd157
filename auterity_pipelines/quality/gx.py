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
    frames, groups: dict[str, list[Expect]], keys: list[str], by: str | None = None
) -> dict[object, dict[str, Outcome]]:
    """As `validate_groups`, over one frame or several (`frames`: rows that share a key share a
    frame), with an outcome per value of column `by` (a day of a history month).

    One Great Expectations run per frame (`count`); then each part is judged on its own rows
    (`judge`). Uniqueness is asked within a part.
    """
    import pandas as pd

    frames = [frames] if isinstance(frames, pd.DataFrame) else frames
    sizes: dict[object, int] = {}

    def sized(frames):
        for frame in frames:
            for part, n in frame[by].value_counts().items() if by else [(None, len(frame))]:
                sizes[part] = sizes.get(part, 0) + n
            yield frame

    tallies = count(sized(frames), groups, keys, by)
    return judge(tallies, sizes, groups)


def count(
    frames, groups: dict[str, list[Expect]], keys: list[str], by: str | None = None, tallies=None
) -> dict:
    """Each expectation's failing rows and rows with a value, per part, summed over `frames`
    into `tallies` (which may hold earlier frames' counts); one Great Expectations run a frame."""
    tallies = {} if tallies is None else tallies
    suite = _suite(groups, by)
    for frame in frames:
        _tally(frame, suite, keys, by, tallies)
    return tallies


def judge(tallies: dict, sizes: dict, groups) -> dict[object, dict[str, Outcome]]:
    """Each part's outcome per group, with each expectation's `mostly` applied to its sums."""
    outcomes = {part: {group: Outcome(passed=True, rows=n) for group in groups} for part, n in sizes.items()}
    for (part, group, _), tally in tallies.items():
        outcome = outcomes.get(part, {}).get(group)
        if outcome is not None and tally.failed():
            outcome.passed = False
            outcome.failures.append(tally.failure(sizes[part]))
            room = FAILING_ROWS - len(outcome.failing_rows)
            outcome.failing_rows.extend(tally.failing_rows[: max(room, 0)])
    return outcomes


@dataclass
class _Tally:
    """One expectation on one part's rows, summed over the frames."""

    name: str
    mostly: float
    present: int = 0  # rows with a value (GX leaves missing values out of a column's share)
    unexpected: int = 0
    detail: str | None = None  # an expectation judged without counting rows: why it failed
    failing_rows: list[dict] = field(default_factory=list)

    def failed(self) -> bool:
        if self.detail is not None:
            return True
        return self.unexpected > 0 and (
            self.present == 0 or (self.present - self.unexpected) / self.present < self.mostly
        )

    def failure(self, rows: int) -> str:
        return f"{self.name}: {self.detail or f'{self.unexpected} of {rows} rows unexpected'}"


def _suite(groups: dict[str, list[Expect]], by: str | None):
    import great_expectations as gx
    import great_expectations.expectations as gxe

    _batch_definition()  # the context first: a suite cannot exist without one
    suite = gx.ExpectationSuite(name="+".join(groups))
    for group, expects in groups.items():
        for e in expects:
            kwargs = dict(e.kwargs)
            if by and "column_list" in kwargs:
                kwargs["column_list"] = [*kwargs["column_list"], by]
            suite.add_expectation(getattr(gxe, e.kind)(**kwargs, meta={"check": group}))
    return suite


def _tally(frame, suite, keys: list[str], by: str | None, tallies: dict[tuple, _Tally]) -> None:
    """One Great Expectations run over one frame, its failures counted into `tallies`."""
    batch = _batch_definition().get_batch(batch_parameters={"dataframe": frame})
    # SUMMARY, and rows named by their frame index: asking GX for key columns makes it visit
    # every failing row in Python. Per part, every failing row is needed to count them
    # (COMPLETE; still indices only, and a frame is at most `rows.FRAME_ROWS` long).
    result = batch.validate(
        suite,
        result_format={
            "result_format": "COMPLETE" if by else "SUMMARY",
            "partial_unexpected_count": FAILING_ROWS,
        },
    )
    part_of = frame[by] if by else None
    present = frame.groupby(by, observed=True).count() if by else frame.count()
    shown = [k for k in keys if k in frame.columns]
    for r in result.results:
        config, found = r.expectation_config, r.result or {}
        columns = (
            [config.kwargs["column"]]
            if config.kwargs.get("column")
            else list(config.kwargs.get("column_list") or [])
        )
        name = f"{config.type}({','.join(c for c in columns if c != by)})"
        group, mostly = config.meta["check"], config.kwargs.get("mostly") or 1.0
        shown_columns = [*shown, *columns]
        failing = found.get("unexpected_index_list") if by else found.get("partial_unexpected_index_list")
        if "unexpected_count" not in found:  # judged without counting rows: an error, or observed
            if r.success:
                continue
            if r.exception_info and r.exception_info.get("raised_exception"):
                detail = f"could not be evaluated: {r.exception_info.get('exception_message')}"
            else:
                detail = f"observed {_plain(found.get('observed_value'))}"
            for part in part_of.unique() if by else [None]:
                tally = tallies.setdefault((part, group, name), _Tally(name, mostly))
                tally.detail = tally.detail or detail
            continue
        if by:
            failing_parts = part_of.loc[failing or []]
            bad = failing_parts.value_counts().to_dict()
            counted = present[columns[0]].to_dict() if len(columns) == 1 else part_of.value_counts().to_dict()
        else:
            bad = {None: found["unexpected_count"]}
            counted = {None: int(present[columns[0]]) if len(columns) == 1 else len(frame)}
        for part, rows in counted.items():
            tally = tallies.setdefault((part, group, name), _Tally(name, mostly))
            tally.present += rows
            count = bad.get(part, 0)
            tally.unexpected += count
            if count and len(tally.failing_rows) < FAILING_ROWS:
                indices = [i for i, p in zip(failing, failing_parts) if p == part] if by else failing or []
                for index in indices[: FAILING_ROWS - len(tally.failing_rows)]:
                    tally.failing_rows.append(_row(frame, index, config.type, shown_columns))


def _row(frame, index, kind: str, shown: list[str]) -> dict:
    shown = list(dict.fromkeys(c for c in shown if c in frame.columns))
    row = frame.loc[index, shown]
    return {"expectation": kind, **{k: _plain(row[k]) for k in shown}}


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
