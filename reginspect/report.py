"""The report: one JSON-ready structure, rendered as JSON, text for terminals, or Markdown.

The structure (schema ``reginspect.report/1``) is documented in the README; text and Markdown are
drawn from it so the three forms never disagree.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from parsers.catalogue import describe
from parsers.logevents import Status
from parsers.regids import format_id
from reginspect.advice import attempt_advice
from reginspect.model import Attempt, CpuState, Outcome, RegisterEntry
from reginspect.textsafe import markdown_text, printable

SCHEMA = "reginspect.report/1"
JsonDict = dict[str, Any]

STATUS_TITLES = {
    Status.EXTRA: "extra (in the stream, unknown on the destination)",
    Status.MISSING: "missing (expected by the destination, not in the stream)",
    Status.MATCHED: "matched (in both)",
}
STATUS_ORDER = (Status.EXTRA, Status.MISSING, Status.MATCHED)


def register_json(entry: RegisterEntry, attempt_source: str) -> JsonDict:
    info = describe(entry.kvm_id, entry.accel)
    data: JsonDict = {
        "id": format_id(entry.kvm_id),
        "name": info.name,
        "status": str(entry.status),
        "tolerated": entry.tolerated,
        "lines": [ref.line for ref in entry.lines],
        "raw": entry.raw,
        "kind": info.kind,
        "known": info.known,
        "aliases": list(info.aliases),
        "evidence": entry.evidence,
    }
    sources = {ref.source for ref in entry.lines}
    if sources and sources != {attempt_source}:
        data["source"] = sorted(sources)[0]
    if entry.stream_value is not None or entry.destination_value is not None:
        data["stream_value"] = None if entry.stream_value is None else f"0x{entry.stream_value:x}"
        data["destination_value"] = (
            None if entry.destination_value is None else f"0x{entry.destination_value:x}"
        )
        data["value_differs"] = entry.value_differs
    return data


def _cpu_json(cpu: CpuState, attempt: Attempt) -> JsonDict:
    registers = sorted(
        cpu.registers.values(),
        key=lambda entry: (STATUS_ORDER.index(entry.status), entry.kvm_id),
    )
    return {
        "cpu": cpu.instance,
        "stream_count": cpu.stream_count,
        "destination_count": cpu.destination_count,
        "missing_count": cpu.count(Status.MISSING),
        "extra_count": cpu.count(Status.EXTRA),
        "matched_count": cpu.count(Status.MATCHED) or None,
        "registers": [register_json(entry, attempt.source) for entry in registers],
    }


def attempt_json(attempt: Attempt) -> JsonDict:
    process = attempt.process
    return {
        "index": attempt.index,
        "source": attempt.source,
        "sources": attempt.sources,
        "outcome": str(attempt.outcome),
        "naming": str(attempt.naming),
        "first_line": attempt.first_line,
        "last_line": attempt.last_line,
        "qemu": None
        if process is None
        else {
            "origin": process.origin,
            "time": process.time,
            "version": process.qemu_version,
            "machine": process.machine,
            "cpu": process.cpu,
            "accel": process.accel,
            "incoming": process.incoming,
            "line": process.line.line,
        },
        "cpus": [_cpu_json(cpu, attempt) for cpu in attempt.sorted_cpus()],
        "hidden": [format_id(kvm_id) for kvm_id in sorted(attempt.hidden)],
        "properties": [
            {
                "line": p.line,
                "driver": p.driver,
                "property": p.property,
                "value": p.value,
                "set_twice": p.set_twice,
            }
            for p in attempt.properties
        ],
        "errors": [
            {"line": e.line, "text": e.text, "kind": e.kind, "source": e.source}
            for e in attempt.errors
        ],
        "advice": attempt_advice(attempt),
    }


def build_report(
    sources: Sequence[str],
    attempts: Sequence[Attempt],
    suggestions: Sequence[JsonDict] = (),
    problems: Sequence[str] = (),
) -> JsonDict:
    return {
        "schema": SCHEMA,
        "sources": list(sources),
        "attempts": [attempt_json(attempt) for attempt in attempts],
        "suggestions": list(suggestions),
        "problems": list(problems),
    }


def exit_status(attempts: Sequence[Attempt]) -> int:
    """0 when every attempt succeeded with no difference, else 1."""
    clean = all(
        attempt.outcome is Outcome.SUCCEEDED and not attempt.has_differences()
        for attempt in attempts
    )
    return 0 if clean else 1


# -- rendering ----------------------------------------------------------------------------------


def render(report: JsonDict, form: str, *, matched: bool = False) -> str:
    """The report in one of the forms the commands offer: json, markdown or text."""
    if form == "json":
        return render_json(report)
    if form == "markdown":
        return render_markdown(report)
    return render_text(report, matched=matched)


def render_json(report: JsonDict) -> str:
    # ensure_ascii escapes every control and non-ASCII character: nothing in a log survives raw.
    return json.dumps(report, indent=2, ensure_ascii=True) + "\n"


def _summary(attempt: JsonDict) -> str:
    cpus = attempt["cpus"]
    extra = sum(cpu["extra_count"] for cpu in cpus)
    missing = sum(cpu["missing_count"] for cpu in cpus)
    parts = [f"{attempt['outcome'].upper()}"]
    if attempt["naming"] == "counts":
        counts = [
            f"stream {cpu['stream_count']} / destination {cpu['destination_count']}"
            for cpu in cpus
            if cpu["stream_count"] is not None
        ]
        parts.append("registers not named by this QEMU" + (f" ({counts[0]})" if counts else ""))
    else:
        parts.append(f"{extra} extra, {missing} missing")
    qemu = attempt["qemu"]
    if qemu:
        about = [
            f"QEMU {qemu['version']}" if qemu["version"] else None,
            f"-machine {qemu['machine']}" if qemu["machine"] else None,
            f"-cpu {qemu['cpu']}" if qemu["cpu"] else None,
            qemu["time"],
        ]
        parts.append(", ".join(part for part in about if part))
    return " — ".join(part for part in parts if part)


def _register_line(register: JsonDict) -> str:
    flags = []
    if register["tolerated"]:
        flags.append("tolerated")
    if not register["known"]:
        flags.append("unknown to the catalogue")
    if register.get("value_differs"):
        flags.append(f"values {register['stream_value']} → {register['destination_value']}")
    lines = register["lines"]
    where = f"line {lines[0]}" if lines else ""
    aliases = f" ({', '.join(register['aliases'][:2])})" if register["aliases"] else ""
    extra = f" [{'; '.join(flags)}]" if flags else ""
    return printable(f"{register['id']}  {register['name']}{aliases}  {where}{extra}")


def render_text(report: JsonDict, *, matched: bool = False) -> str:
    out: list[str] = []
    if not report["attempts"]:
        out.append("No migration attempt found.")
    for attempt in report["attempts"]:
        sources = ", ".join(attempt["sources"])
        where = (
            "saved streams"
            if attempt["naming"] == "streams"
            else f"lines {attempt['first_line']}-{attempt['last_line']}"
        )
        out.append(
            printable(f"{sources}: attempt {attempt['index']}, {where}: {_summary(attempt)}")
        )
        for cpu in attempt["cpus"]:
            counts = ""
            if cpu["stream_count"] is not None or cpu["destination_count"] is not None:
                counts = (
                    f": stream {_or_unknown(cpu['stream_count'])} registers, destination "
                    f"{_or_unknown(cpu['destination_count'])}"
                )
            out.append(f"  cpu {cpu['cpu']}{counts}")
            for status in STATUS_ORDER:
                registers = [r for r in cpu["registers"] if r["status"] == status]
                if not registers:
                    continue
                out.append(f"    {STATUS_TITLES[status]}: {len(registers)}")
                if status is Status.MATCHED and not matched:
                    # A value difference is a difference: always shown.
                    differing = [r for r in registers if r.get("value_differs")]
                    out.extend(f"      {_register_line(r)}" for r in differing)
                    rest = len(registers) - len(differing)
                    out.append(f"      ({rest} with equal values: listed with --matched)")
                    continue
                out.extend(f"      {_register_line(r)}" for r in registers)
        if attempt["errors"]:
            out.append("  errors:")
            out.extend(
                printable(f"    {e['source']}:{e['line']}: {e['text']}")
                for e in attempt["errors"][:20]
            )
            if len(attempt["errors"]) > 20:
                out.append(f"    … and {len(attempt['errors']) - 20} more")
        if attempt["advice"]:
            out.append("  advice:")
            out.extend(f"    - {printable(text)}" for text in attempt["advice"])
        out.append("")
    if report["suggestions"]:
        out.append(
            "suggestions (libvirt and compat forms: reginspect suggest --form libvirt|compat):"
        )
        for suggestion in report["suggestions"]:
            out.append(
                printable(
                    f"  {suggestion['property']} on the {suggestion['side']} "
                    f"({suggestion['applies_to']}): {suggestion['reason']}"
                )
            )
            if suggestion["forms"]["command_line"]:
                out.append(printable(f"    {suggestion['forms']['command_line']}"))
        out.append("")
    for problem in report.get("problems", []):
        out.append(printable(f"note: {problem}"))
    return "\n".join(out).rstrip() + "\n"


def _or_unknown(value: int | None) -> str:
    return "?" if value is None else str(value)


def render_markdown(report: JsonDict) -> str:
    md = markdown_text
    out = ["# reginspect report", ""]
    out.append(
        "Sources: " + ", ".join(f"`{printable(s).replace('`', '')}`" for s in report["sources"])
    )
    out.append("")
    if not report["attempts"]:
        out.append("No migration attempt found.")
    for attempt in report["attempts"]:
        out.append(f"## Attempt {attempt['index']}: {md(_summary(attempt))}")
        out.append("")
        out.append(
            f"Source {md(', '.join(attempt['sources']))}, lines {attempt['first_line']}–"
            f"{attempt['last_line']}."
        )
        out.append("")
        for cpu in attempt["cpus"]:
            out.append(
                f"### CPU {cpu['cpu']} — stream {_or_unknown(cpu['stream_count'])}, destination "
                f"{_or_unknown(cpu['destination_count'])}"
            )
            out.append("")
            rows = [
                r for r in cpu["registers"] if r["status"] != "matched" or r.get("value_differs")
            ]
            matched = sum(1 for r in cpu["registers"] if r["status"] == "matched") - sum(
                1 for r in rows if r["status"] == "matched"
            )
            if rows:
                out.append("| status | name | id | kind | line | tolerated | values |")
                out.append("|---|---|---|---|---|---|---|")
                for r in rows:
                    line = r["lines"][0] if r["lines"] else ""
                    values = (
                        f"{r['stream_value']} → {r['destination_value']}"
                        if r.get("value_differs")
                        else ""
                    )
                    out.append(
                        f"| {r['status']} | {md(r['name'])} | `{r['id']}` | {md(r['kind'])} | "
                        f"{line} | {'yes' if r['tolerated'] else 'no'} | {values} |"
                    )
                out.append("")
            if matched:
                out.append(f"{matched} matched register(s) with equal values, listed in the JSON.")
                out.append("")
        if attempt["errors"]:
            out.append("Errors:")
            out.append("")
            out.extend(f"- line {e['line']}: {md(e['text'])}" for e in attempt["errors"][:20])
            out.append("")
        if attempt["advice"]:
            out.append("Advice:")
            out.append("")
            out.extend(f"- {md(text)}" for text in attempt["advice"])
            out.append("")
    if report["suggestions"]:
        out.append("## Suggested fixes")
        out.append("")
        for suggestion in report["suggestions"]:
            out.append(
                f"- **{md(suggestion['property'])}** on the {md(suggestion['side'])} "
                f"({md(suggestion['applies_to'])}): {md(suggestion['reason'])}"
            )
            for form, text in suggestion["forms"].items():
                if text:
                    out.append("")
                    out.append(f"  {form}:")
                    out.append("")
                    out.append("  ```")
                    out.extend(f"  {printable(line)}" for line in text.splitlines())
                    out.append("  ```")
            out.append("")
    return "\n".join(out).rstrip() + "\n"
