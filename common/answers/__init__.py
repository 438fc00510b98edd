"""Answers: from a question to a short cited answer, written offline (extractive) or by an LLM."""
