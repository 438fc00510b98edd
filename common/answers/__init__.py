"""Answer writers: turn the passages search found into a short answer that cites them.

`ExtractiveWriter` quotes the passages and needs no network; `LlmAnswerWriter` rewrites them with the
configured LLM. `answer_writer_from_settings` picks one.
"""

from __future__ import annotations

from common.answers.extractive import ExtractiveWriter, answer_writer_from_settings
from common.answers.llm_writer import LlmAnswerWriter
from common.answers.writer import Answer, AnswerWriter, Passage

__all__ = [
    "Answer",
    "AnswerWriter",
    "ExtractiveWriter",
    "LlmAnswerWriter",
    "Passage",
    "answer_writer_from_settings",
]
