"""The report as text for terminals and as Markdown, and the phrases both share with the TUI.

The JSON form is ``reginspect.report_json``, loaded only when asked for; ``reginspect.render``
picks the form. Every form is drawn from the same ``Report`` object, so the three never disagree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final

from parsers.lazyre import LazyPattern
from parsers.logevents import Dialect, Status
from parsers.regids import Accel, format_id
from reginspect.model import ErrorLine, Naming
from reginspect.results import (
    STATUS_ORDER,
    AttemptResult,
    AttemptSummary,
    CpuResult,
    Outcome,
    RegisterResult,
    Report,
    display_time,
)
from reginspect.textsafe import markdown_text, printable

STATUS_TITLES: Final = {
    Status.EXTRA: "extra (in the stream, unknown on the destination)",
    Status.MISSING: "missing (expected by the destination, not in the stream)",
    Status.MATCHED: "matched (in both)",
}
# Errors shown per attempt in text and Markdown; the JSON has them all.
ERRORS_SHOWN: Final = 20


def hex_value(value: int | None) -> str | None:
    return None if value is None else f"0x{value:x}"


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
_LEADING_VERSION = LazyPattern(r"\d+(?:\.\d+)+")


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
_REMEMBERED = 1 << 12


def remember(cache: dict[Any, Any], key: object, value: Any) -> Any:
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
        named = remember(_NAMED, (register.kvm_id, info.name), text)
    where = f"line {register.lines[0].line}" if register.lines else ""
    if not register.tolerated and info.known and register.stream_value is None:
        return named + where  # the usual case, without flags
    flags = []
    if register.tolerated:
        flags.append("tolerated")
    if not info.known:
        flags.append("unknown to the catalogue")
    if register.value_differs:
        flags.append(
            f"values {hex_value(register.stream_value)} → {hex_value(register.destination_value)}"
        )
    extra = f" [{'; '.join(flags)}]" if flags else ""
    return f"{named}{where}{extra}"


def _or_unknown(value: int | None) -> str:
    return "?" if value is None else str(value)


def counts_text(cpu: CpuResult) -> str:
    """The register counts QEMU printed for one vCPU, ``?`` for the one it did not print."""
    return (
        f"stream {_or_unknown(cpu.stream_count)} registers, "
        f"destination {_or_unknown(cpu.destination_count)}"
    )


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


def text_parts(report: Report, attempts: Iterable[str]) -> Iterator[str]:
    def sections() -> Iterator[str]:
        if not report.summaries:
            yield "No migration attempt found."
        if len(report.summaries) > 1:
            yield printable(session_line(report.summaries))
        yield from attempts
        if report.suggestions:
            # Both report and compare print this: the pointer must work for both.
            out = ["suggestions (the first form of each; every form: --format markdown):"]
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


def text_attempt(result: AttemptResult, *, matched: bool, number: str | None) -> list[str]:
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
            counts = f": {counts_text(cpu)}"
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


def markdown_parts(report: Report, attempts: Iterable[str]) -> Iterator[str]:
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
                    out.extend(["", f"  {form.heading}:", "", "  ```"])
                    out.extend(f"  {printable(line)}" for line in text.splitlines())
                    out.append("  ```")
                out.append("")
            yield "\n".join(out)

    yield from _sections(sections())


def markdown_attempt(result: AttemptResult, number: str | None = None) -> list[str]:
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
                    f"{hex_value(r.stream_value)} → {hex_value(r.destination_value)}"
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
