"""A lexicon sentiment model for service text: word scores, negation and intensifiers, −1..1."""

from __future__ import annotations

import math
import re

# Scores in −3..3, weighted toward how customers talk about their car and the shop.
LEXICON = {
    "angry": -3,
    "furious": -3,
    "unacceptable": -3,
    "ridiculous": -3,
    "terrible": -3,
    "worst": -3,
    "horrible": -3,
    "dangerous": -2.5,
    "scared": -2.5,
    "frustrated": -2.5,
    "frustrating": -2.5,
    "disappointed": -2.5,
    "upset": -2,
    "unhappy": -2,
    "annoyed": -2,
    "again": -1,
    "still": -0.5,
    "worse": -2,
    "bad": -1.5,
    "poor": -1.5,
    "failed": -1.5,
    "fails": -1.5,
    "broken": -1.5,
    "stranded": -2.5,
    "towed": -1.5,
    "nightmare": -3,
    "waste": -2,
    "complaint": -1,
    "problem": -1,
    "problems": -1,
    "issue": -0.5,
    "never": -1,
    "lemon": -3,
    "refund": -1.5,
    "concerned": -1.5,
    "worried": -1.5,
    "noisy": -0.5,
    "expensive": -1,
    "overcharged": -2.5,
    "good": 1.5,
    "great": 2.5,
    "excellent": 3,
    "amazing": 3,
    "happy": 2,
    "pleased": 2,
    "thanks": 1.5,
    "thank": 1.5,
    "appreciate": 2,
    "appreciated": 2,
    "love": 2.5,
    "helpful": 2,
    "friendly": 2,
    "quick": 1,
    "fast": 1,
    "recommend": 2,
    "satisfied": 2,
    "fine": 0.5,
    "fixed": 1,
    "resolved": 1.5,
    "perfect": 2.5,
    "smooth": 1,
    "glad": 2,
    "awesome": 3,
}
NEGATIONS = {"not", "no", "never", "isn't", "wasn't", "don't", "didn't", "doesn't", "can't", "won't", "nor"}
INTENSIFIERS = {"very": 1.5, "really": 1.4, "extremely": 1.8, "so": 1.3, "totally": 1.5, "completely": 1.5}
_WORD = re.compile(r"[a-z']+")
_ALPHA = 15.0  # VADER's normalisation constant: s / sqrt(s² + α)


def sentiment(text: str) -> float:
    """−1 (very negative) .. 1 (very positive); 0 where nothing carries feeling."""
    words = _WORD.findall((text or "").lower())
    total = 0.0
    for i, word in enumerate(words):
        score = LEXICON.get(word)
        if score is None:
            continue
        window = words[max(0, i - 3) : i]
        if any(w in NEGATIONS for w in window):
            score *= -0.6
        if i and words[i - 1] in INTENSIFIERS:
            score *= INTENSIFIERS[words[i - 1]]
        total += score
    if "!" in (text or ""):
        total *= 1.15
    return round(total / math.sqrt(total * total + _ALPHA), 3)
