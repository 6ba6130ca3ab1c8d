"""The report: result objects rendered as JSON, as text for terminals, or as Markdown.

The JSON schema is ``reginspect.report/1`` (``reginspect/report.schema.json``, documented in the
README). Every form is drawn from the same ``Report`` object, so the three never disagree.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Final

from parsers.catalogue import describe
from parsers.logevents import Dialect, MessageKind, Status
from parsers.regids import Accel, format_id
from reginspect.model import ErrorLine, Naming, RefusedRegister
from reginspect.results import (
    STATUS_ORDER,
    AttemptResult,
    AttemptSummary,
    CpuResult,
    Form,
    Outcome,
    RegisterResult,
    Report,
    Suggestion,
    display_time,
)
from reginspect.textsafe import markdown_text, printable

SCHEMA: Final = "reginspect.report/1"
JsonDict = dict[str, Any]

STATUS_TITLES: Final = {
    Status.EXTRA: "extra (in the stream, unknown on the destination)",
    Status.MISSING: "missing (expected by the destination, not in the stream)",
    Status.MATCHED: "matched (in both)",
}
# Errors shown per attempt in text and Markdown; the JSON has them all.
ERRORS_SHOWN: Final = 20


# -- JSON ---------------------------------------------------------------------------------------


def _hex(value: int | None) -> str | None:
    return None if value is None else f"0x{value:x}"


def register_json(register: RegisterResult, attempt_source: str) -> JsonDict:
    info = register.info
    data: JsonDict = OneLine(
        {
            "id": format_id(register.kvm_id),
            "name": info.name,
            "status": str(register.status),
            "tolerated": register.tolerated,
            "lines": [ref.line for ref in register.lines],
            "raw": register.reference,
            "kind": info.kind,
            "known": info.known,
            "aliases": list(info.aliases),
            "evidence": str(register.kind),
        }
    )
    sources = {ref.source for ref in register.lines}
    if sources and sources != {attempt_source}:
        data["source"] = sorted(sources)[0]
    if register.stream_value is not None or register.destination_value is not None:
        data["stream_value"] = _hex(register.stream_value)
        data["destination_value"] = _hex(register.destination_value)
        data["value_differs"] = register.value_differs
    return data


RegisterWriter = Callable[[RegisterResult, str], Any]
_STATUS_PLACE: Final = {status: place for place, status in enumerate(STATUS_ORDER)}


def _register_json_jsontext(register: RegisterResult, attempt_source: str) -> _Json:
    return _Json(_register_json_text(register, attempt_source))


def _cpu_json(cpu: CpuResult, attempt_source: str, write: RegisterWriter) -> JsonDict:
    registers = sorted(
        cpu.registers, key=lambda register: (_STATUS_PLACE[register.status], register.kvm_id)
    )
    return {
        "cpu": cpu.instance,
        "stream_count": cpu.stream_count,
        "destination_count": cpu.destination_count,
        "missing_count": cpu.count(Status.MISSING),
        "extra_count": cpu.count(Status.EXTRA),
        "matched_count": cpu.count(Status.MATCHED) or None,
        "registers": [write(register, attempt_source) for register in registers],
    }


def _error_json(error: ErrorLine) -> JsonDict:
    return {"line": error.line, "text": error.text, "kind": error.kind, "source": error.source}


def attempt_json(
    result: AttemptResult, write: RegisterWriter = register_json, number: str | None = None
) -> JsonDict:
    summary = result.summary
    process = summary.process
    return {
        "index": summary.index if number is None else _Json(number),
        "source": summary.source,
        "sources": list(summary.sources),
        "outcome": str(summary.outcome),
        "outcome_detail": summary.outcome_detail,
        "naming": str(summary.naming),
        "accel": str(summary.accel),
        "time": summary.time,
        "first_line": summary.first_line,
        "last_line": summary.last_line,
        "qemu": None
        if process is None
        else {
            "origin": process.origin,
            "time": process.time,
            "version": process.version,
            "machine": process.machine,
            "cpu": process.cpu,
            "accel": process.accel,
            "incoming": process.incoming,
            "line": process.line.line,
        },
        "cpus": [_cpu_json(cpu, summary.source, write) for cpu in result.cpus],
        "hidden": [format_id(kvm_id) for kvm_id in sorted(summary.hidden)],
        "refused": [_refused_json(refused) for refused in summary.refused],
        "properties": [
            {
                "line": p.line,
                "driver": p.driver,
                "property": p.property,
                "value": p.value,
                "set_twice": p.set_twice,
            }
            for p in summary.properties
        ],
        "errors": [_error_json(error) for error in result.errors],
        "warnings": [_error_json(warning) for warning in result.warnings],
        "not_understood": [_problem_json(problem) for problem in result.problems],
        "advice": list(result.advice),
    }


def _problem_json(problem: ErrorLine) -> JsonDict:
    return {
        "line": problem.line,
        "text": problem.text,
        "problem": problem.kind,
        "source": problem.source,
    }


_REFUSALS: Final = {
    MessageKind.KVM_SET_VALUE: "value",
    MessageKind.KVM_SET_UNKNOWN: "unknown",
    MessageKind.KVM_SET_ERROR: "error",
}


def _refused_json(refused: RefusedRegister) -> JsonDict:
    return {
        "id": format_id(refused.kvm_id),
        "name": describe(refused.kvm_id, Accel.KVM).name,
        "refusal": _REFUSALS.get(refused.kind, "error"),
        "value": _hex(refused.value),
        "current": _hex(refused.current),
        "line": refused.line.line,
        "source": refused.line.source,
    }


def suggestion_json(suggestion: Suggestion) -> JsonDict:
    forms = dict(suggestion.forms)
    return {
        "property": suggestion.property,
        "side": suggestion.side,
        "ids": [format_id(kvm_id) for kvm_id in suggestion.ids],
        "value": suggestion.value,
        "forms": {str(form): forms.get(form) for form in Form},
        "reason": suggestion.reason,
        "applies_to": suggestion.applies_to,
        "route": str(suggestion.route),
        "qemu": suggestion.qemu,
        "loses": [
            {"id": format_id(kvm_id), "name": describe(kvm_id).name, "value": _hex(value)}
            for kvm_id, value in suggestion.loses
        ],
    }


def report_json(report: Report) -> JsonDict:
    return {
        "schema": SCHEMA,
        "sources": list(report.sources),
        "attempts": [attempt_json(result) for result in report.attempts],
        "suggestions": [suggestion_json(suggestion) for suggestion in report.suggestions],
        "problems": list(report.problems),
    }


# -- rendering ----------------------------------------------------------------------------------


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
        yield from _json_parts(report, attempts)
    elif form == "markdown":
        yield from _markdown_parts(report, attempts)
    else:
        yield from _text_parts(report, attempts)


def render_attempt(
    result: AttemptResult, form: str, *, matched: bool = False, number: str | None = None
) -> str:
    """One attempt's part of the report; ``number``: what to write as its number instead of
    its index (another process numbers attempts it cannot count)."""
    if form == "json":
        return _dump(attempt_json(result, _register_json_jsontext, number), 2)
    if form == "markdown":
        return "\n".join(_markdown_attempt(result, number)).rstrip()
    return "\n".join(_text_attempt(result, matched=matched, number=number))


class OneLine(dict[str, Any]):
    """A JSON object written on one line: a register (a report lists thousands of them; one a
    line is quick to write and to grep)."""


_SCALARS: Final = {True: "true", False: "false", None: "null"}
_ascii = json.encoder.encode_basestring_ascii


def _dump(value: object, level: int) -> str:
    """JSON indented by two spaces a level, ``OneLine`` objects on one line. ensure_ascii
    escapes every control and non-ASCII character: nothing in a log survives raw."""
    if type(value) is str:
        return str(_ascii(value))
    if value is None or type(value) is bool:
        return _SCALARS[value]
    if type(value) is int:
        return str(value)
    if isinstance(value, _Json):
        return str(value)
    if isinstance(value, OneLine):
        return json.dumps(value, ensure_ascii=True)
    if isinstance(value, dict | list) and value:
        inner = "\n" + "  " * (level + 1)
        if isinstance(value, dict):
            items = [f"{_ascii(key)}: {_dump(item, level + 1)}" for key, item in value.items()]
            opening, closing = "{", "}"
        elif isinstance(value[0], _Json):  # a CPU's registers, written already
            items, opening, closing = value, "[", "]"
        else:
            items = [_dump(item, level + 1) for item in value]
            opening, closing = "[", "]"
        return opening + inner + ("," + inner).join(items) + "\n" + "  " * level + closing
    return json.dumps(value, ensure_ascii=True)


def _json_parts(report: Report, attempts: Iterable[str]) -> Iterator[str]:
    head = {"schema": SCHEMA, "sources": list(report.sources)}
    yield _dump(head, 0)[:-2] + ',\n  "attempts": ['
    for number, text in enumerate(attempts):
        yield ("," if number else "") + "\n    " + text
    yield "\n  ]," if report.summaries else "],"
    tail = {
        "suggestions": [suggestion_json(suggestion) for suggestion in report.suggestions],
        "problems": list(report.problems),
    }
    yield _dump(tail, 0)[1:] + "\n"


def summary_line(summary: AttemptSummary) -> str:
    """An attempt in one line: outcome, what differs, and the QEMU it ran in."""
    parts = [summary.outcome.upper(), differences(summary), qemu_facts(summary)]
    return " — ".join(part for part in parts if part)


def differences(summary: AttemptSummary) -> str:
    """What differs between the stream and the destination, in the words every view uses (the
    register counts are of distinct registers, every CPU merged)."""
    if summary.naming is Naming.COUNTS:
        counted = next((cpu for cpu in summary.cpus if cpu.stream_count is not None), None)
        counts = (
            ""
            if counted is None
            else f" (stream {counted.stream_count} / destination {counted.destination_count})"
        )
        if Dialect.QEMU_11 not in summary.dialects:
            return "registers not named by this QEMU" + counts
        # QEMU 11.1 names every difference, but on its standard error, which this log lacks; a
        # load it finished with equal counts left none to name.
        if summary.outcome is Outcome.SUCCEEDED and not summary.count_differs:
            return "no difference" + counts
        return f"registers not named in this log{counts}: QEMU 11.1 names them on standard error"
    extra, missing = summary.count(Status.EXTRA), summary.count(Status.MISSING)
    values = len(summary.registers.value_differs)
    if summary.naming is Naming.NAMED and not (extra or missing or values):
        # QEMU 11.1 and the traces name each difference: naming none means there was none.
        return "no difference"
    words = f"{extra} extra, {missing} missing"
    if values:
        words += ", 1 value differs" if values == 1 else f", {values} values differ"
    return words


# The order outcomes are counted in: what needs a look first.
OUTCOME_ORDER: Final = (Outcome.FAILED, Outcome.IN_PROGRESS, Outcome.SUCCEEDED, Outcome.UNKNOWN)
_LEADING_VERSION = re.compile(r"\d+(?:\.\d+)+")


def outcome_counts(summaries: Sequence[AttemptSummary]) -> list[tuple[Outcome, int]]:
    """How many attempts ended each way (the outcomes that occur, in OUTCOME_ORDER)."""
    counted = Counter(summary.outcome for summary in summaries)
    return [(outcome, counted[outcome]) for outcome in OUTCOME_ORDER if counted[outcome]]


def session_facts(summaries: Sequence[AttemptSummary]) -> list[str]:
    """What ran across a session: the QEMU versions, machines, CPUs and accelerators (each value
    once, in the order first seen)."""

    def distinct(values: Iterable[str | None]) -> str:
        return "/".join(dict.fromkeys(value for value in values if value))

    processes = [summary.process for summary in summaries if summary.process is not None]
    versions = distinct(_short_version(process.version) for process in processes)
    machines = distinct(process.machine for process in processes)
    cpus = distinct(process.cpu for process in processes)
    accels = distinct(str(s.accel) for s in summaries if s.accel is not Accel.UNKNOWN)
    return [
        fact
        for fact in (
            f"QEMU {versions}" if versions else "",
            f"-machine {machines}" if machines else "",
            f"-cpu {cpus}" if cpus else "",
            f"-accel {accels}" if accels else "",
        )
        if fact
    ]


def _short_version(version: str | None) -> str | None:
    """``11.1.3`` of ``11.1.3Debian 1:11.1.3+ds-1``: the distribution's suffix is in each
    attempt's own line."""
    if version is None:
        return None
    match = _LEADING_VERSION.match(version)
    return match.group(0) if match else version


def session_line(summaries: Sequence[AttemptSummary]) -> str:
    """A whole session in one line: attempts per outcome, then what ran."""
    total = len(summaries)
    head = f"{total} attempt{'s' if total != 1 else ''}"
    counts = ", ".join(f"{count} {outcome}" for outcome, count in outcome_counts(summaries))
    if counts:
        head += f": {counts}"
    facts = ", ".join(session_facts(summaries))
    return f"{head} — {facts}" if facts else head


def qemu_facts(summary: AttemptSummary) -> str:
    """What ran: QEMU version, machine, CPU, accelerator and start, as far as the log tells."""
    process = summary.process
    parts = []
    if process is not None:
        parts += [
            f"QEMU {process.version}" if process.version else "",
            f"-machine {process.machine}" if process.machine else "",
            f"-cpu {process.cpu}" if process.cpu else "",
        ]
    if summary.accel is not Accel.UNKNOWN:
        parts.append(f"-accel {summary.accel}")
    time = display_time(summary.time)
    if time:
        parts.append(f"started {time}")
    return ", ".join(part for part in parts if part)


# A report names the same registers in attempt after attempt: what does not depend on the
# attempt is written once per run (bounded).
_NAMED: dict[tuple[int, str], str] = {}
_JSON_HEADS: dict[tuple[object, ...], tuple[str, str]] = {}
_REMEMBERED = 1 << 14


def _remember(cache: dict[Any, Any], key: object, value: Any) -> Any:
    if len(cache) >= _REMEMBERED:
        cache.clear()
    cache[key] = value
    return value


def _register_line(register: RegisterResult) -> str:
    info = register.info
    named = _NAMED.get((register.kvm_id, info.name))
    if named is None:
        aliases = f" ({', '.join(info.aliases[:2])})" if info.aliases else ""
        text = printable(f"{format_id(register.kvm_id)}  {info.name}{aliases}  ")
        named = _remember(_NAMED, (register.kvm_id, info.name), text)
    where = f"line {register.lines[0].line}" if register.lines else ""
    if not register.tolerated and info.known and register.stream_value is None:
        return named + where  # the usual case, without flags
    flags = []
    if register.tolerated:
        flags.append("tolerated")
    if not info.known:
        flags.append("unknown to the catalogue")
    if register.value_differs:
        flags.append(f"values {_hex(register.stream_value)} → {_hex(register.destination_value)}")
    extra = f" [{'; '.join(flags)}]" if flags else ""
    return f"{named}{where}{extra}"


class _Json(str):
    """JSON text written as it is by ``_dump``."""


def _register_json_text(register: RegisterResult, attempt_source: str) -> str:
    """``register_json`` as one line of JSON, made from the parts that repeat."""
    if register.stream_value is not None or register.destination_value is not None:
        return json.dumps(register_json(register, attempt_source), ensure_ascii=True)
    lines = register.lines
    if len(lines) == 1:  # the usual case, made without a generator
        if lines[0].source != attempt_source:
            return json.dumps(register_json(register, attempt_source), ensure_ascii=True)
        numbers = str(lines[0].line)
    elif any(ref.source != attempt_source for ref in lines):
        return json.dumps(register_json(register, attempt_source), ensure_ascii=True)
    else:
        numbers = ", ".join(str(ref.line) for ref in lines)
    info = register.info
    key: tuple[object, ...] = (register.kvm_id, info.name, register.status, register.tolerated)
    key += (register.reference, register.kind)
    parts = _JSON_HEADS.get(key)
    if parts is None:
        whole = json.dumps(register_json(register._replace(lines=()), ""), ensure_ascii=True)
        head, tail = whole.split('"lines": []', 1)
        parts = _remember(_JSON_HEADS, key, (head + '"lines": [', "]" + tail))
    return parts[0] + numbers + parts[1]


def _or_unknown(value: int | None) -> str:
    return "?" if value is None else str(value)


def _sections(sections: Iterable[str]) -> Iterator[str]:
    """Sections one blank line apart, the whole ending in one newline."""
    first = True
    for section in sections:
        text = section.rstrip()
        if not text:
            continue
        yield ("" if first else "\n\n") + text
        first = False
    if not first:
        yield "\n"


def _text_parts(report: Report, attempts: Iterable[str]) -> Iterator[str]:
    def sections() -> Iterator[str]:
        if not report.summaries:
            yield "No migration attempt found."
        if len(report.summaries) > 1:
            yield printable(session_line(report.summaries))
        yield from attempts
        if report.suggestions:
            out = [
                "suggestions (every form: reginspect suggest --form "
                "command-line|libvirt|compat|tolerance):"
            ]
            for suggestion in report.suggestions:
                out.append(
                    printable(
                        f"  {suggestion.property} on the {suggestion.side}, for "
                        f"{suggestion.qemu}: {suggestion.reason}"
                    )
                )
                if suggestion.forms:
                    # The form to use first; the libvirt one repeats the command line's.
                    _, text = suggestion.forms[0]
                    out.extend(printable(f"    {line}") for line in text.splitlines())
            yield "\n".join(out)
        yield "\n".join(printable(f"note: {problem}") for problem in report.problems)

    yield from _sections(sections())


def _text_attempt(result: AttemptResult, *, matched: bool, number: str | None) -> list[str]:
    summary = result.summary
    sources = ", ".join(summary.sources)
    where = f"lines {summary.first_line}-{summary.last_line}"
    if summary.naming is Naming.STREAMS:
        # A log's attempt completed by saved streams keeps its lines.
        where = f"{where} and saved streams" if summary.last_line else "saved streams"
    index = str(summary.index) if number is None else number  # a number: nothing to escape
    after = f", {where}: {summary_line(summary)}"
    out = [printable(f"{sources}: attempt ") + index + printable(after)]
    for cpu in result.cpus:
        counts = ""
        if cpu.stream_count is not None or cpu.destination_count is not None:
            counts = (
                f": stream {_or_unknown(cpu.stream_count)} registers, destination "
                f"{_or_unknown(cpu.destination_count)}"
            )
        out.append(f"  cpu {cpu.instance}{counts}")
        by_status: dict[Status, list[RegisterResult]] = {status: [] for status in STATUS_ORDER}
        for register in cpu.registers:
            by_status[register.status].append(register)
        for status, registers in by_status.items():
            if not registers:
                continue
            out.append(f"    {STATUS_TITLES[status]}: {len(registers)}")
            if status is Status.MATCHED and not matched:
                # A value difference is a difference: always shown.
                differing = [r for r in registers if r.value_differs]
                out.extend(f"      {_register_line(r)}" for r in differing)
                rest = len(registers) - len(differing)
                if summary.naming is Naming.STREAMS:
                    out.append(f"      ({rest} with equal values: listed with --matched)")
                else:
                    out.append(f"      ({rest} more: listed with --matched)")
                continue
            out.extend(["      " + _register_line(r) for r in registers])
    out.extend(_text_lines("errors", [(e, e.text) for e in result.errors]))
    out.extend(_text_lines("lines not understood", [(p, p.kind) for p in result.problems]))
    if result.advice:
        out.append("  advice:")
        out.extend(f"    - {printable(text)}" for text in result.advice)
    return out


def _text_lines(title: str, lines: Sequence[tuple[ErrorLine, str]]) -> list[str]:
    """A titled list of log lines with what each says, the first ERRORS_SHOWN of them."""
    if not lines:
        return []
    out = [f"  {title}:"]
    out.extend(printable(f"    {e.source}:{e.line}: {what}") for e, what in lines[:ERRORS_SHOWN])
    if len(lines) > ERRORS_SHOWN:
        out.append(f"    … and {len(lines) - ERRORS_SHOWN} more")
    return out


def _markdown_lines(title: str, lines: Sequence[tuple[int, str]]) -> list[str]:
    """A titled Markdown list of log lines with what each says, the first ERRORS_SHOWN."""
    if not lines:
        return []
    shown = (f"- line {line}: {markdown_text(what)}" for line, what in lines[:ERRORS_SHOWN])
    return [f"{title}:", "", *shown, ""]


def _markdown_parts(report: Report, attempts: Iterable[str]) -> Iterator[str]:
    md = markdown_text

    def sections() -> Iterator[str]:
        yield "# reginspect report"
        yield "Sources: " + ", ".join(f"`{printable(s).replace('`', '')}`" for s in report.sources)
        if len(report.summaries) > 1:
            yield md(session_line(report.summaries))
        if not report.summaries:
            yield "No migration attempt found."
        yield from attempts
        if report.suggestions:
            out = ["## Suggested fixes", ""]
            for suggestion in report.suggestions:
                out.append(
                    f"- **{md(suggestion.property)}** on the {md(suggestion.side)}, for "
                    f"{md(suggestion.qemu)}: {md(suggestion.reason)}"
                )
                for form, text in suggestion.forms:
                    out.extend(["", f"  {form}:", "", "  ```"])
                    out.extend(f"  {printable(line)}" for line in text.splitlines())
                    out.append("  ```")
                out.append("")
            yield "\n".join(out)

    yield from _sections(sections())


def _markdown_attempt(result: AttemptResult, number: str | None = None) -> list[str]:
    md = markdown_text
    summary = result.summary
    index = summary.index if number is None else number
    out = [f"## Attempt {index}: {md(summary_line(summary))}", ""]
    out.append(
        f"Source {md(', '.join(summary.sources))}, lines {summary.first_line}–{summary.last_line}."
    )
    out.append("")
    for cpu in result.cpus:
        out.append(
            f"### CPU {cpu.instance} — stream {_or_unknown(cpu.stream_count)}, destination "
            f"{_or_unknown(cpu.destination_count)}"
        )
        out.append("")
        rows = [r for r in cpu.registers if r.status is not Status.MATCHED or r.value_differs]
        matched = cpu.count(Status.MATCHED) - sum(1 for r in rows if r.status is Status.MATCHED)
        if rows:
            out.append("| status | name | id | kind | line | tolerated | values |")
            out.append("|---|---|---|---|---|---|---|")
            for r in sorted(rows, key=lambda r: (STATUS_ORDER.index(r.status), r.kvm_id)):
                line = r.lines[0].line if r.lines else ""
                values = (
                    f"{_hex(r.stream_value)} → {_hex(r.destination_value)}"
                    if r.value_differs
                    else ""
                )
                out.append(
                    f"| {r.status} | {md(r.name)} | `{format_id(r.kvm_id)}` | "
                    f"{md(r.info.kind)} | {line} | {'yes' if r.tolerated else 'no'} | {values} |"
                )
            out.append("")
        if matched:
            out.append(f"{matched} matched register(s) with equal values, listed in the JSON.")
            out.append("")
    out.extend(_markdown_lines("Errors", [(e.line, e.text) for e in result.errors]))
    out.extend(_markdown_lines("Lines not understood", [(p.line, p.kind) for p in result.problems]))
    if result.advice:
        out.append("Advice:")
        out.append("")
        out.extend(f"- {md(text)}" for text in result.advice)
        out.append("")
    return out
