"""Prompt sets: one prompt a line, each with a stable id derived from its text."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from vidcarbon.errors import ConfigError


@dataclass(frozen=True)
class Prompt:
    prompt_id: str
    text: str


def prompt_id(text: str) -> str:
    """Stable id of a prompt: 'p' + the first 10 hex digits of the SHA-256 of its UTF-8 text."""
    return "p" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]


def read_prompts(path: str | Path) -> list[Prompt]:
    """Read a prompt file: one prompt a line; blank lines and lines starting with '#' are skipped.

    The text is kept verbatim (quotes, backslashes, `$(...)`, non-ASCII); only surrounding
    whitespace is stripped. A missing or empty file, or a repeated prompt, is a ConfigError.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"config key 'prompts': prompt file '{path}' does not exist; "
            "give the path of a text file with one prompt a line (e.g. config/prompts/default.txt)"
        )
    seen: dict[str, int] = {}
    prompts = []
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if text in seen:
            raise ConfigError(
                f"config key 'prompts': prompt file '{path}' repeats a prompt on lines "
                f"{seen[text]} and {line_no} ({text[:60]!r}); remove one of them"
            )
        seen[text] = line_no
        prompts.append(Prompt(prompt_id(text), text))
    if not prompts:
        raise ConfigError(
            f"config key 'prompts': prompt file '{path}' holds no prompt; "
            "write one prompt a line (lines starting with '#' are comments)"
        )
    return prompts
