"""Re-posts under a new URL: a key of an entry's source and normalised title, looked up over recent days."""

from __future__ import annotations

import hashlib
import re

_NOT_WORD = re.compile(r"[\W_]+")


def title_key(source_id: str, title: str) -> str | None:
    """Key of a title within one source: case, punctuation and spacing folded (None for an empty title)."""
    words = _NOT_WORD.sub(" ", title.casefold()).split()
    if not words:
        return None
    return hashlib.sha256(f"{source_id}\x1f{' '.join(words)}".encode()).hexdigest()[:32]
