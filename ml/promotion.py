"""Champion/challenger: when a new model version may replace the one in use."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str


def decide(challenger: float, champion: float | None, margin: float, metric: str = "roc_auc") -> Decision:
    """Promote when there is no champion, or the challenger beats it by `margin` on the same holdout."""
    if champion is None:
        return Decision(True, f"no champion yet; challenger {metric} {challenger:.4f}")
    gain = challenger - champion
    if gain >= margin:
        return Decision(
            True, f"challenger {metric} {challenger:.4f} beats champion {champion:.4f} by {gain:+.4f}"
        )
    return Decision(
        False,
        f"challenger {metric} {challenger:.4f} vs champion {champion:.4f} on the same holdout: "
        f"{gain:+.4f}, below the {margin:.4f} margin; the champion stays",
    )
