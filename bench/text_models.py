"""The complaint classifier on makes it never saw: leave-make-group-out, beside the baseline.

Each make group of the NHTSA corpus (ml/text/generalisation.py) is held out in turn; the
classifier and a class-balanced TF-IDF + logistic-regression baseline are trained on the other
groups (the classifier also on its written texts, which name no make) and score the held-out
one, in the same run. Macro-F1 is over the gold categories only. Printed per group, pooled
(all groups, and without Porsche, 76% of the corpus), per category; then the training time and
size of each model trained on everything, the calibration error of the classifier's top
probability, and how many answers turn to "other" at the unsure threshold, with the accuracy
on the rest.

    .venv/bin/python -m bench.text_models
"""

from __future__ import annotations

import io
import time

TARGET_MACRO_F1 = 0.72
TARGET_GROUP_F1 = 0.60


def trained_size(model) -> int:
    import joblib

    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    return buffer.tell()


def timed(train, rows):
    started = time.perf_counter()
    model = train(rows)
    return model, time.perf_counter() - started


def main() -> None:
    from ml.text import complaints
    from ml.text.generalisation import baseline, calibration_error, leave_make_group_out

    rows = complaints.load_nhtsa()
    written = complaints.load_service_requests()
    found = {
        "classifier": leave_make_group_out(complaints.train, rows, written),
        "baseline": leave_make_group_out(baseline, rows),
    }
    print(f"leave-make-group-out on {len(rows)} NHTSA complaints (macro-F1 over gold categories)")
    groups = sorted(found["classifier"].groups, key=lambda g: -found["classifier"].groups[g].n)
    print(f"  {'group':14} {'n':>5} {'classifier':>11} {'baseline':>9}   predicted only (classifier)")
    for group in groups:
        ours, theirs = found["classifier"].groups[group], found["baseline"].groups[group]
        print(
            f"  {group:14} {ours.n:5d} {ours.macro_f1:11.3f} {theirs.macro_f1:9.3f}   {', '.join(ours.predicted_only) or '-'}"
        )
    for label, without in (("pooled, all groups", ()), ("pooled, without porsche", ("porsche",))):
        ours, theirs = found["classifier"].pooled(without), found["baseline"].pooled(without)
        print(f"  {label:24} {ours.n:5d}  classifier {ours.macro_f1:.3f} (accuracy {ours.accuracy:.3f})  "
              f"baseline {theirs.macro_f1:.3f}  ratio {ours.macro_f1 / theirs.macro_f1:.2f}")  # fmt: skip
    print("\n  F1 by category, pooled without porsche:   classifier  baseline")
    ours, theirs = (
        found["classifier"].per_category(("porsche",)),
        found["baseline"].per_category(("porsche",)),
    )
    for category in ours:
        print(f"    {category:22} {ours[category]:17.3f} {theirs[category]:9.3f}")

    held = found["classifier"]
    print(f"\ncalibration error of the classifier's top probability (by decile): "
          f"{calibration_error(held.truth, held.predicted, held.confidence):.3f}")  # fmt: skip
    print("unsure answers turned to 'other' (pooled, without porsche):")
    kept = [i for i, g in enumerate(held.group_of) if g != "porsche"]
    for threshold in sorted({0.15, 0.20, complaints.UNSURE_BELOW, 0.30, 0.40, 0.50}):
        sure = [i for i in kept if held.confidence[i] >= threshold]
        right = sum(held.truth[i] == held.predicted[i] for i in sure)
        mark = "  <- UNSURE_BELOW" if threshold == complaints.UNSURE_BELOW else ""
        print(f"  below {threshold:.2f}: {1 - len(sure) / len(kept):5.1%} answered 'other'; "
              f"accuracy on the rest {right / max(1, len(sure)):.3f}{mark}")  # fmt: skip

    print("\ntrained on every row:")
    for label, train, data in (
        ("classifier", complaints.train, rows + written),
        ("baseline", baseline, rows),
    ):
        model, seconds = timed(train, data)
        print(f"  {label:10} {seconds:6.1f} s  {trained_size(model) / 1e6:6.1f} MB")
    pooled = found["classifier"].pooled(("porsche",))
    worst = min(s.macro_f1 for g, s in found["classifier"].groups.items())
    print(f"\ntarget: macro-F1 >= {TARGET_MACRO_F1} on makes the corpus barely holds, no group under "
          f"{TARGET_GROUP_F1}, ahead of the baseline: pooled without porsche {pooled.macro_f1:.3f}, "
          f"worst group {worst:.3f}, baseline {found['baseline'].pooled(('porsche',)).macro_f1:.3f}: "
          f"{'met' if pooled.macro_f1 >= TARGET_MACRO_F1 and worst >= TARGET_GROUP_F1 else 'MISSED'}")  # fmt: skip


if __name__ == "__main__":
    main()
