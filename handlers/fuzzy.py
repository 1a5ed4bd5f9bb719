"""Choosing the item a person means by a name they typed (activities, needs-list items)."""

from __future__ import annotations

import unicodedata

from rapidfuzz import fuzz, process, utils

MATCH_CUTOFF = 60


def fold(text: str) -> str:
    """Full-width letters folded (NFKC), then rapidfuzz's own clean-up (case, punctuation)."""
    return utils.default_process(unicodedata.normalize("NFKC", text))


def best_matches(wanted: str, options: dict[int, str]) -> list[int]:
    """Ids that fit `wanted` best: the exact name, else the best fuzzy scores (ties kept).

    "绿化" scores 100 against both "A段绿化养护" and "B段绿化养护": both come back, and the
    caller asks which one.
    """
    folded = fold(wanted)
    if not folded:
        return list(options)
    names = {key: fold(name) for key, name in options.items()}
    exact = [key for key, name in names.items() if name == folded]
    if exact:
        return exact
    scored = process.extract(folded, names, scorer=fuzz.partial_ratio,
                             score_cutoff=MATCH_CUTOFF, limit=None)
    return [key for _, score, key in scored if score == scored[0][1]] if scored else []
