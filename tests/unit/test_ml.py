"""NeuroWeaver's pure parts: training-set checks, the holdout split, promotion, A/B variants, drift."""

import numpy as np
import pandas as pd
import pytest

from ml.drift import feature_psi, psi
from ml.evaluation import by_decile, expected_calibration_error
from ml.promotion import decide
from ml.registry import LoggedVersion, Store
from ml.scoring import variant
from ml.training import ModelSpec, TrainingSetError, check_training_set, in_holdout

SPEC = ModelSpec("lead_conversion", "converted", "lead_id", ("source",), ("response_minutes",), min_rows=100)


def frame(n: int, positives: float = 0.3, null_share: float = 0.0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    minutes = rng.exponential(30, n)
    minutes[: int(n * null_share)] = np.nan
    return pd.DataFrame(
        {
            "lead_id": [f"L-{i}" for i in range(n)],
            "source": rng.choice(["walk-in", "facebook", "cars.com"], n),
            "response_minutes": minutes,
            "converted": (rng.random(n) < positives).astype(float),
        }
    )


def test_a_training_set_that_is_too_small_is_refused_with_the_counts():
    with pytest.raises(TrainingSetError, match=r"40 labelled rows \(40 in all\); at least 100"):
        check_training_set(frame(40), SPEC)


def test_unlabelled_rows_do_not_count_towards_the_minimum():
    rows = frame(300)
    rows.loc[rows.index[:250], "converted"] = np.nan
    with pytest.raises(TrainingSetError, match=r"50 labelled rows \(300 in all\)"):
        check_training_set(rows, SPEC)


def test_a_single_class_training_set_is_refused():
    with pytest.raises(TrainingSetError, match="converted=0; a model needs both outcomes"):
        check_training_set(frame(500, positives=0.0), SPEC)


def test_a_feature_that_is_mostly_null_is_named():
    with pytest.raises(TrainingSetError, match=r"response_minutes \(80%\)"):
        check_training_set(frame(500, null_share=0.8), SPEC)


def test_a_good_training_set_passes():
    assert len(check_training_set(frame(500), SPEC)) == 500


def test_the_holdout_side_of_a_record_does_not_depend_on_the_others():
    ids = pd.Series([f"L-{i}" for i in range(10_000)])
    full = in_holdout(ids, 0.2)
    assert 0.18 < full.mean() < 0.22
    assert (in_holdout(ids[::7], 0.2) == full[::7]).all()


def test_promotion_needs_the_margin_on_the_same_holdout():
    assert decide(0.70, None, 0.005).promote
    assert decide(0.7100, 0.7000, 0.005).promote
    kept = decide(0.7030, 0.7000, 0.005)
    assert not kept.promote and "below the 0.0050 margin; the champion stays" in kept.reason
    assert not decide(0.60, 0.70, 0.005).promote


def test_variants_are_stable_by_id_and_honour_the_share():
    ids = [f"L-0{i:04d}-00001" for i in range(10_000)]
    first = [variant(i, 0.1) for i in ids]
    assert first == [variant(i, 0.1) for i in ids]
    assert 0.08 < first.count("challenger") / len(ids) < 0.12
    assert {variant(i, 0.0) for i in ids} == {"champion"}
    # Widening the share only moves champions to the challenger, never back.
    assert all(variant(i, 0.3) == "challenger" for i, v in zip(ids, first) if v == "challenger")


def test_psi_is_small_for_the_same_population_and_large_for_a_shifted_one():
    rng = np.random.default_rng(1)
    reference = pd.Series(rng.exponential(30, 20_000))
    assert psi(reference, pd.Series(rng.exponential(30, 2_000))) < 0.05
    assert psi(reference, pd.Series(rng.exponential(90, 2_000))) > 0.2


def test_psi_of_categories_sees_a_new_mix():
    reference = pd.Series(["walk-in"] * 300 + ["facebook"] * 300 + ["cars.com"] * 400)
    same = pd.Series(["walk-in"] * 30 + ["facebook"] * 30 + ["cars.com"] * 40)
    shifted = pd.Series(["facebook"] * 90 + ["cars.com"] * 10)
    scores = feature_psi(pd.DataFrame({"s": reference}), pd.DataFrame({"s": shifted}), ["s"])
    assert psi(reference, same) < 0.01 and scores["s"] > 0.2


def test_calibration_by_decile_tells_calibrated_from_overconfident():
    rng = np.random.default_rng(2)
    p = rng.uniform(0, 1, 20_000)
    y = (rng.random(20_000) < p).astype(int)
    assert expected_calibration_error(y, p) < 0.02
    assert expected_calibration_error(y, np.clip(p * 1.6, 0, 1)) > 0.1
    table = by_decile(y, p)
    assert list(table["decile"]) == list(range(1, 11)) and table["rows"].sum() == 20_000


def test_a_tracking_server_s_credentials_never_reach_a_message_or_link():
    store = Store("https://ops:s3cret@mlflow.example.com:8443/")
    assert store.display == "https://mlflow.example.com:8443/"
    link = LoggedVersion("abc", "3", "7", "models:/m/3").run_url(store)
    assert "s3cret" not in link and link.endswith("/#/experiments/7/runs/abc")
    assert Store("sqlite:////srv/home/mlflow.db").artifact_root.as_posix() == "/srv/home/mlartifacts"


def test_an_outcome_counts_only_once_its_whole_window_was_synced():
    import datetime as dt

    import pandas as pd

    from ml.features.frames import SYNCED_DAYS, outcome_known

    synced = pd.DataFrame(
        {"dealership_id": "a", "day": pd.date_range("2025-01-01", "2025-08-31").date}
    )  # history to August, then a nightly sync of yesterday: a gap between them
    synced = pd.concat([synced, pd.DataFrame({"dealership_id": ["a"], "day": [dt.date(2026, 11, 29)]})])
    leads = pd.DataFrame(
        {
            "dealership_id": ["a", "a", "a", "b", "b"],
            "received_at": pd.to_datetime(
                ["2025-07-01", "2025-08-15", "2026-11-29", "2025-07-01", "2025-08-15"], utc=True
            ),
        }
    )
    # "b" has no synced days on record: its data reaching 2025-08-31 is what counts.
    tables = {
        SYNCED_DAYS: synced,
        "leads": pd.DataFrame(
            {"dealership_id": ["b"], "updated_at": pd.to_datetime(["2025-08-31"], utc=True)}
        ),
        "lead_enrichments": None,  # a table the caller has none of
    }
    now = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    known = outcome_known(leads["dealership_id"], leads["received_at"], pd.Timedelta(days=30), now, tables)
    # The wall clock alone would call all five known; only the July leads' 30 days were synced.
    assert known.tolist() == [True, False, False, True, False]


def test_each_metric_has_its_own_promotion_margin():
    import pytest

    from resources.mlflow import NeuroWeaver

    neuroweaver = NeuroWeaver(tracking_uri="sqlite:///unused.db")
    assert neuroweaver.promotion_margin("roc_auc") == 0.005
    assert neuroweaver.promotion_margin("macro_f1") == 0.01
    with pytest.raises(ValueError, match="no promotion margin for 'accuracy'"):
        neuroweaver.promotion_margin("accuracy")


def test_the_learning_curve_rises_with_the_labelled_rows_and_ends_on_the_whole_training_side():
    from ml.learning_curve import FIRST_SIZE, learning_curve, sizes

    rng = np.random.default_rng(3)
    rows = frame(6000, seed=3)
    # A signal with noise: a few hundred rows find it roughly, thousands find it well.
    signal = rng.normal(size=len(rows))
    rows["response_minutes"] = signal
    rows["converted"] = (rng.random(len(rows)) < 1 / (1 + np.exp(-2 * np.sin(3 * signal)))).astype(float)
    curve = learning_curve(SPEC, rows)
    training_side = int((~in_holdout(rows["lead_id"], SPEC.holdout_share)).sum())
    assert [p.rows for p in curve] == sizes(training_side)
    assert curve[0].rows == FIRST_SIZE and curve[-1].rows == training_side
    assert curve[-1].roc_auc > curve[0].roc_auc + 0.02
    assert sizes(100) == [100]  # fewer rows than the first size: one point, on all of them
