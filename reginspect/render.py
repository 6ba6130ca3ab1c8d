"""The report in the form a command asks for: JSON (``reginspect.report_json``, loaded only
then), Markdown or text (``reginspect.report``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from reginspect.report import markdown_attempt, markdown_parts, text_attempt, text_parts
from reginspect.results import AttemptResult, Report


def render(report: Report, form: str, *, matched: bool = False) -> str:
    """The report in one of the forms the commands offer: json, markdown or text."""
    return "".join(render_parts(report, form, matched=matched))


def render_parts(
    report: Report, form: str, *, matched: bool = False, attempts: Iterable[str] | None = None
) -> Iterator[str]:
    """``render`` in pieces, one attempt at a time: a report of thousands of attempts is
    written as it is made. ``attempts``: the attempts rendered already (``render_attempt``,
    in order), instead of ``report.attempts``."""
    if attempts is None:
        attempts = (render_attempt(result, form, matched=matched) for result in report.attempts)
    if form == "json":
        from reginspect.report_json import json_parts

        yield from json_parts(report, attempts)
    elif form == "markdown":
        yield from markdown_parts(report, attempts)
    else:
        yield from text_parts(report, attempts)


def render_attempt(
    result: AttemptResult, form: str, *, matched: bool = False, number: str | None = None
) -> str:
    """One attempt's part of the report; ``number``: what to write as its number instead of
    its index (another process numbers attempts it cannot count)."""
    if form == "json":
        from reginspect.report_json import json_attempt

        return json_attempt(result, number)
    if form == "markdown":
        return "\n".join(markdown_attempt(result, number)).rstrip()
    return "\n".join(text_attempt(result, matched=matched, number=number))
