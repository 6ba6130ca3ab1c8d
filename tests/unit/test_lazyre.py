"""LazyPattern answers as the compiled expression does, before and after its first use."""

from __future__ import annotations

import re

import pytest

from parsers.lazyre import LazyPattern

EXPRESSION = r"reg (\d+)"
TEXT = "reg 1, reg 22 and reg 333"


def test_every_method_answers_as_re_does_on_first_use_and_later() -> None:
    compiled = re.compile(EXPRESSION)
    for method in ("match", "search", "fullmatch", "finditer", "findall", "sub"):
        lazy = LazyPattern(EXPRESSION)
        for _ in range(2):  # the first call compiles, the second uses the compiled method
            if method == "sub":
                assert lazy.sub("R", TEXT, 2) == compiled.sub("R", TEXT, 2)
            elif method == "finditer":
                assert [m.span() for m in lazy.finditer(TEXT, 1)] == [
                    m.span() for m in compiled.finditer(TEXT, 1)
                ]
            elif method == "findall":
                assert lazy.findall(TEXT) == compiled.findall(TEXT) == ["1", "22", "333"]
            else:
                got, want = getattr(lazy, method)(TEXT, 0, 5), getattr(compiled, method)(TEXT, 0, 5)
                assert (got and got.group(1)) == (want and want.group(1))


def test_nothing_is_compiled_until_used() -> None:
    lazy = LazyPattern("(unbalanced")
    assert lazy.pattern == "(unbalanced"
    with pytest.raises(re.error):  # an invalid expression fails where it is first used
        lazy.search("x")
