"""The complaint classifier's sentence encoder (ml/text/sentences.py) and the vectors it ships."""

from __future__ import annotations

import numpy as np
import pytest

from ml.text import sentences
from ml.text.complaints import training_texts


def shipped() -> dict[str, np.ndarray]:
    return sentences._load_shipped(sentences.VECTORS_PATH)


def test_the_shipped_vectors_cover_every_text_the_classifier_trains_on():
    vectors = shipped()
    missing = [text for text in training_texts() if sentences.key(text) not in vectors]
    assert not missing, (
        f"{len(missing)} training texts have no shipped vector (first: {missing[0][:80]!r}); "
        "run `python -m ml.text.sentences` and commit ml/data/sentence_vectors.npz"
    )


def test_the_shipped_vectors_are_what_the_encoder_gives_today():
    texts = sorted(set(training_texts()), key=len)[::90]  # short to long
    vectors = shipped()
    fresh = sentences.Encoder(sentences.model_path(), vectors=None).run(texts)
    for text, vector in zip(texts, fresh, strict=True):
        # float16 as shipped; another CPU's kernels may round a last digit differently
        assert np.abs(vectors[sentences.key(text)] - vector).max() < 2e-3, text[:80]


def test_each_complaint_is_nearest_the_one_about_the_same_system_in_other_words():
    said = sentences.encode(
        [
            "my brakes squeal and grind every time i stop",
            "the radio screen goes black while driving",
            "the engine stalled on the highway and would not restart",
        ]
    )
    written = sentences.encode(
        [
            "brake pads worn down to metal, rotors scored",
            "infotainment display went blank and rebooted",
            "motor died at speed and cranks but will not start",
        ]
    )
    similarity = said @ written.T
    assert list(similarity.argmax(axis=1)) == [0, 1, 2]
    assert list(similarity.argmax(axis=0)) == [0, 1, 2]


@pytest.mark.parametrize(
    "text",
    ["", " ", "\x00\x00", "🚗💥🔥" * 50, "brake " * 20_000, "الفرامل لا تعمل", "DROP TABLE leads; --"],
    ids=["empty", "blank", "nul", "emoji", "huge", "arabic", "sql"],
)
def test_any_text_gets_a_finite_unit_vector(text):
    vector = sentences.encode([text])
    assert vector.shape == (1, sentences.DIMENSIONS)
    assert np.isfinite(vector).all()
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-2)


def test_the_encoder_refuses_a_model_file_it_does_not_know(tmp_path):
    model = tmp_path / "model.onnx"
    model.write_bytes(b"not the model")
    with pytest.raises(RuntimeError, match="sha256"):
        sentences.Encoder(model)


@pytest.mark.parametrize(
    "content",
    [b"version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 1256280\n", "truncated"],
    ids=["lfs_pointer", "truncated"],
)
def test_an_unreadable_shipped_file_is_ignored_and_every_text_still_gets_its_vector(
    tmp_path, content, caplog
):
    vectors = tmp_path / "sentence_vectors.npz"
    vectors.write_bytes(sentences.VECTORS_PATH.read_bytes()[:50_000] if content == "truncated" else content)
    encoder = sentences.Encoder(sentences.model_path(), vectors=vectors)
    assert encoder.shipped == {}
    assert "ignoring the shipped sentence vectors" in caplog.text
    text = sorted(training_texts(), key=len)[0]
    np.testing.assert_allclose(encoder.encode([text])[0], shipped()[sentences.key(text)], atol=2e-3)


def test_a_process_keeps_only_the_newest_vectors_of_texts_outside_the_shipped_file(monkeypatch):
    encoder = sentences.Encoder(sentences.model_path())
    monkeypatch.setattr(sentences, "RECENT", 3)
    texts = [f"squeak number {i} from the rear" for i in range(5)]
    first = encoder.encode(texts)
    assert len(encoder.recent) == 3
    assert list(encoder.recent) == [sentences.key(t) for t in texts[2:]]
    np.testing.assert_array_equal(encoder.encode(texts[::-1]), first[::-1])
