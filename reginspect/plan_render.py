"""A plan (``reginspect.plan.Plan``) for people and programs: a text table that fits 100 columns
for up to 6 inputs (compact beyond), JSON (``reginspect.plan/1``, ``plan.schema.json``) and
Markdown for bug reports. Labels and paths are file names and command-line text: untrusted,
made inert like log text."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final

from parsers.logevents import Status
from reginspect.advice import register_names
from reginspect.plan import SCHEMA, Cell, PairVerdict, Plan, PlanInput, pair_registers
from reginspect.report import hex_value
from reginspect.report_json import suggestion_json
from reginspect.results import Form, RegisterResult, Suggestion
from reginspect.textsafe import markdown_text, printable

WIDTH: Final = 100  # text columns
HEAD: Final = 8  # the narrowest the sources' labels get before the table turns compact
GOOD: Final = "✓"
BAD: Final = "✗"
VERDICT_TEXT: Final = {
    PairVerdict.MIGRATES: "migrates",
    PairVerdict.WARNINGS: "migrates with warnings (missing registers only)",
    PairVerdict.FAILS_REGISTERS: "fails on registers",
    PairVerdict.FAILS_VALUES: "fails on values",
}
LEGEND: Final = (
    f"{GOOD} migrates, {BAD} fails; x extra (in the source's list, unknown on the destination: "
    "the load fails), t extra the destination's QEMU 11.1 tolerates, m missing (expected by the "
    "destination, not in the source's list: a warning), v configuration registers whose values "
    "differ (the destination refuses them)."
)
NAMES_SHOWN: Final = 12
TABLE_TITLE: Final = "directions (source ↓, destination →):"


def cell_label(cell: Cell, *, compact: bool = False, short: bool = False) -> str:
    """The counts of one direction: ``✗ x3 m35 v2``, ``✓ m2``; short: a failing direction
    without its missing count (warnings only); compact: the count that decides."""
    verdict = cell.verdict
    if compact:
        if verdict is PairVerdict.FAILS_REGISTERS:
            return f"x{len(cell.fatal)}"
        if verdict is PairVerdict.FAILS_VALUES:
            return f"v{len(cell.value_differs)}"
        if verdict is PairVerdict.WARNINGS:
            return f"m{len(cell.missing - cell.missing_tolerated)}"
        return f"t{len(cell.tolerated)}" if cell.tolerated else GOOD
    parts = [BAD if verdict.fails else GOOD]
    for letter, count in (
        ("x", len(cell.fatal)),
        ("t", len(cell.tolerated)),
        ("m", 0 if short and verdict.fails else len(cell.missing - cell.missing_tolerated)),
        ("v", len(cell.value_differs)),
    ):
        if count:
            parts.append(f"{letter}{count}")
    return " ".join(parts)


def input_line(each: PlanInput) -> str:
    """What one input is and what is known of its QEMU."""
    parts = [each.kind.heading]
    if each.machine:
        parts.append(each.machine)
    parts.append(f"{each.accel.upper()} ({each.accel_from})")
    qemu = each.qemu_text()
    if each.qemu_from and not each.qemu_exact:
        qemu += f" (from its {each.qemu_from})"
    parts.append(qemu)
    if each.cpu:
        parts.append(f"-cpu {each.cpu}")
    values = "" if each.has_values else ", no values"
    parts.append(f"{len(each.ids)} registers{values}")
    return ", ".join(parts)


def direction(plan: Plan, cell: Cell) -> str:
    return f"{plan.inputs[cell.source].label} -> {plan.inputs[cell.destination].label}"


def _names(plan: Plan, ids: Iterable[int], limit: int | None = NAMES_SHOWN) -> str:
    return register_names(sorted(ids), limit, plan.accel)


def cell_summary(plan: Plan, cell: Cell, *, names: bool) -> str:
    """One direction in a sentence: its verdict, counts and (with names) every register."""
    limit = None if names else NAMES_SHOWN
    parts = []
    if cell.fatal:
        parts.append(f"{len(cell.fatal)} extra ({_names(plan, cell.fatal, limit)})")
    if cell.tolerated:
        parts.append(f"{len(cell.tolerated)} extra tolerated ({_names(plan, cell.tolerated)})")
    missing = cell.missing - cell.missing_tolerated
    if missing:
        parts.append(f"{len(missing)} missing ({_names(plan, missing, limit)})")
    if cell.value_differs:
        count = len(cell.value_differs)
        verb = "value differs" if count == 1 else "values differ"
        parts.append(f"{count} {verb} ({_values(plan, cell, limit)})")
    text = f"{direction(plan, cell)}: {VERDICT_TEXT[cell.verdict]}"
    return text + (": " + "; ".join(parts) if parts else "")


def _values(plan: Plan, cell: Cell, limit: int | None) -> str:
    source, destination = plan.inputs[cell.source], plan.inputs[cell.destination]
    listed = sorted(cell.value_differs)
    shown = listed if limit is None else listed[:limit]
    text = ", ".join(
        f"{plan.name(k)} {source.values[k]:#x} vs {destination.values[k]:#x}" for k in shown
    )
    more = len(listed) - len(shown)
    return text + (f" and {more} more" if more > 0 else "")


# -- text ---------------------------------------------------------------------------------------


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def table_lines(plan: Plan) -> list[str]:
    """The matrix: sources down, destinations across; numbered headers when compact."""
    count = len(plan.inputs)
    labels = [printable(f"{n} {each.label}") for n, each in enumerate(plan.inputs, 1)]
    normal = [cell_label(cell) for cell in plan.cells]
    width = max(6, *(len(text) for text in normal))
    if HEAD + 1 + count * (width + 1) > WIDTH:  # failing directions without their warnings
        normal = [cell_label(cell, short=True) for cell in plan.cells]
        width = max(6, *(len(text) for text in normal))
    head = min(max(len(label) for label in labels), 24)
    compact = HEAD + 1 + count * (width + 1) > WIDTH
    if compact:
        cells = [cell_label(cell, compact=True) for cell in plan.cells]
        width = max(3, len(str(count)), *(len(text) for text in cells))
        head = len(str(count)) + 1
        columns = [str(n) for n in range(1, count + 1)]
        rows = columns
    else:
        cells = normal
        head = max(HEAD, min(head, WIDTH - 1 - count * (width + 1)))
        columns = [_fit(label, width) for label in labels]
        rows = [_fit(label, head) for label in labels]
    lines = [" " * head + " " + " ".join(c.ljust(width) for c in columns)]
    for source in range(count):
        row = []
        for destination in range(count):
            if source == destination:
                row.append("·".ljust(width))
                continue
            index = source * (count - 1) + destination - (destination > source)
            row.append(cells[index].ljust(width))
        lines.append(rows[source].ljust(head) + " " + " ".join(row))
    lines = [line.rstrip() for line in lines]
    legend = LEGEND
    if compact:
        legend += " Compact cells show the count that decides: x, v, m, or t."
    lines.append("")
    lines.extend(textwrap.wrap(legend, WIDTH))
    return lines


def _wrap(text: str, indent: str, first: str | None = None) -> list[str]:
    return textwrap.wrap(
        printable(text),
        WIDTH,
        initial_indent=indent if first is None else first,
        subsequent_indent=indent,
        break_on_hyphens=False,
        break_long_words=False,
    )


def suggestion_lines(suggestion: Suggestion, forms: Sequence[Form] | None) -> list[str]:
    head = f"{suggestion.property} on the {suggestion.side}, for {suggestion.qemu}: "
    out = _wrap(head + suggestion.reason, "    ", "  ")
    for form, text in suggestion.forms:
        if forms is not None and form not in forms:
            continue
        out.append(f"    {form.heading}:")
        out.extend(printable(f"      {line}") for line in text.splitlines())
    return out


def text_lines(
    plan: Plan, *, names: bool = False, forms: Sequence[Form] | None = None
) -> list[str]:
    failing = [cell for cell in plan.cells if cell.verdict.fails]
    count = len(plan.inputs)
    head = (
        f"plan: {count} host configurations, {len(plan.cells)} directions: "
        f"{len(plan.cells) - len(failing)} migrate, {len(failing)} fail"
    )
    out = [head, "", "inputs:"]
    for n, each in enumerate(plan.inputs, 1):
        out.extend(_wrap(f"{n} {each.label}: {input_line(each)}", "      ", "  "))
    out.extend(["", TABLE_TITLE])
    out.extend(table_lines(plan))
    shown = [cell for cell in plan.cells if cell.verdict is not PairVerdict.MIGRATES or cell.notes]
    if shown:
        out.extend(
            ["", "each direction:" if names else "each direction (--names lists every register):"]
        )
        for cell in shown:
            out.extend(_wrap(cell_summary(plan, cell, names=names), "      ", "  "))
            for note in cell.notes:
                out.extend(_wrap(note, "      ", "    "))
    out.append("")
    if not plan.differing:
        out.append("Every input has the same registers: no property or tolerance is needed.")
    else:
        where = f" (machine type {plan.machine}, from {plan.machine_from})" if plan.machine else ""
        out.extend(
            _wrap(
                f"registers not on every host: {len(plan.differing)}{where}: "
                f"{_names(plan, (s.kvm_id for s in plan.differing), None if names else 24)}",
                "  ",
                "",
            )
        )
    if plan.fixes:
        out.extend(["", "the fix for the whole set, every form:"])
        for suggestion in plan.fixes:
            out.extend(suggestion_lines(suggestion, forms))
    out.append("")
    still = plan.still_failing
    after = "after the fix" if plan.fixes else "with nothing to fix"
    if still:
        out.append(f"{after}, {len(still)} directions still fail on values:")
        for cell in still:
            listed = _names(plan, cell.value_differs, None if names else NAMES_SHOWN)
            out.extend(_wrap(f"{direction(plan, cell)}: {listed}", "      ", "  "))
    else:
        out.append(f"{after}, every direction migrates.")
    if plan.assumptions:
        out.extend(["", "assumptions:"])
        for text in plan.assumptions:
            out.extend(_wrap(text, "    ", "  - "))
    if plan.notes:
        out.extend(["", "notes:"])
        for text in plan.notes:
            out.extend(_wrap(text, "    ", "  - "))
    return out


# -- JSON ---------------------------------------------------------------------------------------


def _register(row: RegisterResult) -> dict[str, Any]:
    found: dict[str, Any] = {"id": row.id_text, "name": row.name}
    if row.status is not Status.MATCHED:
        found["tolerated"] = row.tolerated
    else:
        found["source_value"] = hex_value(row.stream_value)
        found["destination_value"] = hex_value(row.destination_value)
    return found


def _cell_json(plan: Plan, cell: Cell, *, registers: bool = True) -> dict[str, Any]:
    found: dict[str, Any] = {
        "source": plan.inputs[cell.source].label,
        "destination": plan.inputs[cell.destination].label,
        "verdict": str(cell.verdict),
    }
    rows = pair_registers(plan, cell)
    by_status: dict[Status, list[dict[str, Any]]] = {status: [] for status in Status}
    for row in rows:
        by_status[row.status].append(_register(row))
    if registers:
        found["extra"] = by_status[Status.EXTRA]
        found["missing"] = by_status[Status.MISSING]
    found["value_differs"] = by_status[Status.MATCHED]
    if registers:
        found["notes"] = list(cell.notes)
        found["assumed"] = sorted(cell.assumed)
    return found


def _input_json(each: PlanInput) -> dict[str, Any]:
    return {
        "label": each.label,
        "path": each.path,
        "kind": each.kind,
        "machine": each.machine,
        "accel": str(each.accel),
        "accel_from": each.accel_from,
        "qemu": None if each.qemu is None else f"{each.qemu[0]}.{each.qemu[1]}",
        "qemu_exact": each.qemu_exact,
        "qemu_from": each.qemu_from or None,
        "cpu": each.cpu,
        "registers": len(each.ids),
        "values": each.has_values,
        "covers": None if each.covers is None else sorted(f"{g:#x}" for g in each.covers),
        "problems": list(each.problems),
    }


def plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "inputs": [_input_json(each) for each in plan.inputs],
        "machine": {"name": plan.machine, "from": plan.machine_from or None},
        "accel": str(plan.accel),
        "pairs": [_cell_json(plan, cell) for cell in plan.cells],
        "differing": [
            {
                "id": f"0x{spread.kvm_id:016x}",
                "name": plan.name(spread.kvm_id),
                "inputs": [plan.inputs[i].label for i in spread.present],
                "values": {plan.inputs[i].label: hex_value(value) for i, value in spread.values},
            }
            for spread in plan.differing
        ],
        "fixes": [suggestion_json(suggestion) for suggestion in plan.fixes],
        "still_failing": [_cell_json(plan, cell, registers=False) for cell in plan.still_failing],
        "assumptions": list(plan.assumptions),
        "notes": list(plan.notes),
        "exit_status": plan.exit_status,
    }


# -- Markdown -----------------------------------------------------------------------------------


def _code(text: str) -> str:
    return "`" + printable(text).replace("`", "'") + "`"


def markdown_lines(plan: Plan) -> list[str]:
    md = markdown_text
    count = len(plan.inputs)
    out = [f"# reginspect plan: {count} host configurations", ""]
    out += ["| # | input | what |", "|---|---|---|"]
    for n, each in enumerate(plan.inputs, 1):
        out.append(f"| {n} | {_code(each.label)} | {md(input_line(each))} |")
    out += ["", "| source ↓ / destination → | " + " | ".join(map(str, range(1, count + 1))) + " |"]
    out.append("|---|" + "---|" * count)
    for source in range(count):
        row = [
            "·" if source == destination else cell_label(plan.cell(source, destination))
            for destination in range(count)
        ]
        out.append(f"| {source + 1} {md(plan.inputs[source].label)} | " + " | ".join(row) + " |")
    out += ["", md(LEGEND), ""]
    shown = [c for c in plan.cells if c.verdict is not PairVerdict.MIGRATES or c.notes]
    if shown:
        out += ["## Directions", ""]
        for cell in shown:
            out.append(f"- {md(cell_summary(plan, cell, names=True))}")
            out.extend(f"  - {md(note)}" for note in cell.notes)
        out.append("")
    if plan.fixes:
        out += ["## The fix for the whole set", ""]
        for suggestion in plan.fixes:
            out.append(
                f"- **{md(suggestion.property)}** on the {md(suggestion.side)}, for "
                f"{md(suggestion.qemu)}: {md(suggestion.reason)}"
            )
            for form, text in suggestion.forms:
                out += ["", f"  {form.heading}:", "", "  ```"]
                out.extend(f"  {printable(line)}" for line in text.splitlines())
                out.append("  ```")
            out.append("")
    still = plan.still_failing
    out += ["## After the fix", ""]
    if still:
        out.extend(f"- {md(cell_summary(plan, cell, names=True))}" for cell in still)
    else:
        out.append("Every direction migrates.")
    for title, items in (("Assumptions", plan.assumptions), ("Notes", plan.notes)):
        if items:
            out += ["", f"## {title}", ""]
            out.extend(f"- {md(text)}" for text in items)
    return out


def render(
    plan: Plan, form: str, *, names: bool = False, forms: Sequence[Form] | None = None
) -> str:
    """The plan as ``text``, ``json`` or ``markdown``."""
    if form == "json":
        return json.dumps(plan_json(plan), indent=1) + "\n"
    lines: Iterator[str] | list[str]
    lines = (
        markdown_lines(plan) if form == "markdown" else text_lines(plan, names=names, forms=forms)
    )
    return "\n".join(lines) + "\n"
