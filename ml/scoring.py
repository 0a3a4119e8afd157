"""Batch scoring with a champion and, for a share of records chosen by id, its challenger."""

from __future__ import annotations

import hashlib

import pandas as pd

from ml.registry import CHALLENGER, CHAMPION, probabilities


def variant(record_id: str, challenger_share: float) -> str:
    """`challenger` for a stable share of ids, `champion` for the rest; salted apart from the holdout split."""
    digest = hashlib.blake2b(f"ab:{record_id}".encode(), digest_size=8).hexdigest()
    return CHALLENGER if int(digest, 16) % 10_000 < challenger_share * 10_000 else CHAMPION


def score_frame(
    frame: pd.DataFrame,
    id_column: str,
    model_name: str,
    champion: tuple[str, object],
    challenger: tuple[str, object] | None,
    challenger_share: float,
) -> pd.DataFrame:
    """model_name, model_version, variant and score for each row of `frame`."""
    variants = frame[id_column].map(lambda i: variant(str(i), challenger_share if challenger else 0.0))
    out = pd.DataFrame(
        {"model_name": model_name, "variant": variants, "model_version": "", "score": 0.0}, index=frame.index
    )
    for name, chosen in ((CHAMPION, champion), (CHALLENGER, challenger)):
        rows = variants == name
        if chosen is None:
            continue
        version, model = chosen
        if rows.any():
            out.loc[rows, "model_version"] = str(version)
            out.loc[rows, "score"] = probabilities(model, frame[rows]).to_numpy()
    return out
