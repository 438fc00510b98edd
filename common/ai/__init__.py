"""Models: the embedder and its tokenizer (offline, bundled), and the client for an OpenAI-compatible LLM."""
