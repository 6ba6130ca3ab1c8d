"""Rich markup, ANSI CSI, OSC 52/OSC 8 and C1 controls in a log are shown, never interpreted."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reginspect import textsafe
from tests.conftest import REPO

ESCAPES_LOG = REPO / "tests" / "fuzz_corpus" / "escapes.log"
RAW_CONTROLS = ("\x1b", "\x07", "\x9b", "\x90", "\x9d")


@pytest.mark.parametrize("form", ["text", "markdown", "json"])
def test_outputs_carry_no_control_characters(run_cli: Any, form: str) -> None:
    status, out, err = run_cli("report", "--format", form, str(ESCAPES_LOG))
    assert status == 1, err
    for control in RAW_CONTROLS:
        assert control not in out, (form, control)


def test_text_shows_escapes_visibly(run_cli: Any) -> None:
    _, out, _ = run_cli("report", str(ESCAPES_LOG))
    assert "\\x1b[31m[link=http://x]click[/link]\\x9b2J" in out


def test_markdown_neutralises_links_and_markup(run_cli: Any) -> None:
    _, out, _ = run_cli("report", "--format", "markdown", str(ESCAPES_LOG))
    assert "\\[link=http://x\\]click\\[/link\\]" in out
    assert "[link=http://x]" not in out


def test_json_escapes_and_keeps_the_text(run_cli: Any) -> None:
    _, out, _ = run_cli("report", "--format", "json", str(ESCAPES_LOG))
    assert "\\u001b" in out
    texts = [e["text"] for a in json.loads(out)["attempts"] for e in a["errors"]]
    assert any("\x1b[31m[link=http://x]click[/link]" in text for text in texts)


@settings(max_examples=1000)
@given(st.text())
def test_printable_escapes_every_unsafe_character_even_when_it_takes_the_short_way(
    text: str,
) -> None:
    shown = textsafe.printable(text)
    assert shown == textsafe._UNSAFE.sub(textsafe._escape_char, text.replace("\t", "    "))
    assert textsafe._UNSAFE.search(shown) is None
