"""Loading a sentence-transformers model from a folder, quietly: transformers draws a weight-loading progress bar on
the terminal, which would land in the middle of a command's output (`--json` included)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


def load_sentence_transformer(source: str, **kwargs: Any) -> SentenceTransformer:
    """The model at `source` on the CPU; `kwargs` go to SentenceTransformer. Logs, never draws."""
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    return SentenceTransformer(source, device="cpu", **kwargs)
