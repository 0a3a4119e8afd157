"""Metric families built from SQL aggregates: one scan of a table feeds every family read from
it, each summing the grouped rows over its own labels; histogram buckets are counted by the
database rather than by a process that watched each observation."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from sqlalchemy import and_, case, func


class Family:
    """A counter or gauge, summed over the rows given to it per combination of its labels."""

    def __init__(self, kind: str, name: str, doc: str, labels: Sequence[str]):
        self.kind, self.name, self.doc, self.labels = kind, name, doc, list(labels)
        self.values: dict[tuple, float] = {}

    def add(self, labels: Sequence, value) -> None:
        key = tuple(str(v) for v in labels)
        self.values[key] = self.values.get(key, 0.0) + float(value or 0)

    def family(self):
        made = (CounterMetricFamily if self.kind == "counter" else GaugeMetricFamily)(
            self.name, self.doc, labels=self.labels
        )
        for key, value in sorted(self.values.items()):
            made.add_metric(list(key), value)
        return made


class Histogram:
    """A histogram from `bucket_columns` rows, summed per combination of its labels."""

    def __init__(
        self, name: str, doc: str, labels: Sequence[str], buckets: Sequence[float], per_second: float = 1
    ):
        self.name, self.doc, self.labels, self.buckets = name, doc, list(labels), list(buckets)
        self.per_second = per_second  # the observed value's units in a second (1000: milliseconds)
        self.values: dict[tuple, list[float]] = {}

    def bounds(self) -> list[float]:
        """The bucket bounds in the observed value's units, for `bucket_columns`."""
        return [b * self.per_second for b in self.buckets]

    def add(self, labels: Sequence, counted: Sequence) -> None:
        """`counted`: the observations, their sum and the cumulative count per bucket."""
        key = tuple(str(v) for v in labels)
        held = self.values.setdefault(key, [0.0] * (len(self.buckets) + 2))
        for i, n in enumerate(counted):
            held[i] += float(n or 0)

    def family(self) -> HistogramMetricFamily:
        """Every label combination seen, observed or not: a series that first appears at zero
        lets Prometheus's `rate` count its first observation (one that appears at 1 reads as 0)."""
        made = HistogramMetricFamily(self.name, self.doc, labels=self.labels)
        for key, (count, total, *within) in sorted(self.values.items()):
            buckets = [(str(float(b)), n) for b, n in zip(self.buckets, within)]
            made.add_metric(list(key), [*buckets, ("+Inf", count)], total / self.per_second)
        return made


def bucket_columns(value, bounds: Sequence[float], when=None) -> list:
    """SQL aggregates for a histogram of `value` (rows where `when` holds and `value` is not null):
    the count, the sum and one cumulative count per bound. `value` is compared once per bound:
    keep it cheap (a column, or a float; PostgreSQL's numeric arithmetic is slow)."""
    observed = value.is_not(None) if when is None else and_(when, value.is_not(None))
    return [
        func.sum(case((observed, 1), else_=0)),
        func.sum(case((observed, value), else_=0)),
        *(func.sum(case((and_(observed, value <= bound), 1), else_=0)) for bound in bounds),
    ]


def gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)
