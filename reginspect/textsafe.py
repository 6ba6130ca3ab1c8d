"""Log text is untrusted: make it inert before it reaches a terminal, Markdown or a widget."""

from __future__ import annotations

import re

from parsers.lazyre import LazyPattern

# C0 and C1 controls, DEL, and the Unicode format/bidi controls that reorder what a reader sees.
_UNSAFE = LazyPattern(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
# Characters that start Markdown syntax anywhere in a line (links, code, emphasis, HTML, tables).
_MARKDOWN_SPECIAL = LazyPattern(r"([\\`*_{}\[\]<>|~])")


def _escape_char(match: re.Match[str]) -> str:
    char = match.group(0)
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every control character (ESC, BEL, C1, bidi…) shown as a visible escape."""
    if text.isprintable():  # none of them (nor a tab) is printable: the usual case, quickly
        return text
    return _UNSAFE.sub(_escape_char, text.replace("\t", "    "))


def markdown_text(text: str) -> str:
    """``text`` safe inside Markdown (tables included): controls escaped, syntax neutralised."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", printable(text))
