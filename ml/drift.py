"""Population stability index: how far the data being scored has moved from the data trained on."""

from __future__ import annotations

import numpy as np
import pandas as pd

_FLOOR = 1e-4  # an empty bin would make the index infinite


def psi(reference: pd.Series, current: pd.Series, bins: int = 10) -> float:
    """PSI of one feature: numeric values in the reference's quantile bins, categories by their shares."""
    reference, current = reference.dropna(), current.dropna()
    if reference.empty or current.empty:
        return float("nan")
    if pd.api.types.is_numeric_dtype(reference) and reference.nunique() > bins:
        edges = np.unique(np.quantile(reference.astype(float), np.linspace(0, 1, bins + 1)))
        edges[0], edges[-1] = -np.inf, np.inf
        expected = pd.cut(reference.astype(float), edges).value_counts(normalize=True, sort=False)
        actual = pd.cut(current.astype(float), edges).value_counts(normalize=True, sort=False)
    else:
        expected = reference.astype(str).value_counts(normalize=True)
        actual = current.astype(str).value_counts(normalize=True)
        labels = expected.index.union(actual.index)
        expected, actual = expected.reindex(labels, fill_value=0), actual.reindex(labels, fill_value=0)
    e = np.clip(expected.to_numpy(), _FLOOR, None)
    a = np.clip(actual.to_numpy(), _FLOOR, None)
    return float(np.sum((a - e) * np.log(a / e)))


def feature_psi(reference: pd.DataFrame, current: pd.DataFrame, features: list[str]) -> pd.Series:
    """PSI per feature, largest first."""
    return pd.Series({f: psi(reference[f], current[f]) for f in features}).sort_values(ascending=False)
