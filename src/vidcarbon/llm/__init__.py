"""The LLM baseline (paper RQ2): text generation measured per request, prefill and decode."""
