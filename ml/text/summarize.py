"""Extractive summaries: the most informative sentence, cut at a word boundary."""

from __future__ import annotations

import re

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[a-z0-9']+")
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "his",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "she",
        "so",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "when",
        "which",
        "while",
        "with",
        "you",
        "your",
        "customer",
        "states",
        "says",
        "please",
    ]
)


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(" ".join((text or "").split())) if s.strip()]


def shorten(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"


def key_sentence(text: str, max_chars: int = 160) -> str:
    """The sentence with the most distinct content words, earlier sentences winning ties."""
    candidates = sentences(text)
    if not candidates:
        return ""

    def weight(item: tuple[int, str]) -> tuple[int, int]:
        index, sentence = item
        content = {w for w in _WORD.findall(sentence.lower()) if w not in STOP_WORDS and len(w) > 2}
        return (min(len(content), 12), -index)

    return shorten(max(enumerate(candidates), key=weight)[1], max_chars)
