"""The report as JSON: schema ``reginspect.report/1`` (``reginspect/report.schema.json``,
documented in the README), drawn from the same ``Report`` as the text and Markdown forms. Only a
JSON report loads this module (and the standard library's ``json``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Final

from parsers.catalogue import describe
from parsers.logevents import MessageKind, Status
from parsers.regids import Accel, format_id
from reginspect.model import ErrorLine, RefusedRegister
from reginspect.report import hex_value, remember
from reginspect.results import (
    STATUS_ORDER,
    AttemptResult,
    CpuResult,
    Form,
    RegisterResult,
    Report,
    Suggestion,
)

SCHEMA: Final = "reginspect.report/1"
JsonDict = dict[str, Any]


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
        data["stream_value"] = hex_value(register.stream_value)
        data["destination_value"] = hex_value(register.destination_value)
        data["value_differs"] = register.value_differs
    return data


# A CPU's registers (in the report's order) and its attempt's source, as JSON values.
RegistersWriter = Callable[[list[RegisterResult], str], list[Any]]
_STATUS_PLACE: Final = {status: place for place, status in enumerate(STATUS_ORDER)}


def _register_dicts(registers: list[RegisterResult], attempt_source: str) -> list[Any]:
    return [register_json(register, attempt_source) for register in registers]


class _Written(list[str]):
    """Items written as JSON text already, one a line (``_dump`` joins them as they are)."""


def _register_texts(registers: list[RegisterResult], attempt_source: str) -> list[Any]:
    return _Written([_register_json_text(register, attempt_source) for register in registers])


def _cpu_json(cpu: CpuResult, attempt_source: str, write: RegistersWriter) -> JsonDict:
    statuses = [register.status for register in cpu.registers]
    # Ascending ids already: a stable sort by status keeps them ascending within each.
    registers = sorted(cpu.registers, key=lambda register: _STATUS_PLACE[register.status])
    return {
        "cpu": cpu.instance,
        "stream_count": cpu.stream_count,
        "destination_count": cpu.destination_count,
        "missing_count": statuses.count(Status.MISSING),
        "extra_count": statuses.count(Status.EXTRA),
        "matched_count": statuses.count(Status.MATCHED) or None,
        "registers": write(registers, attempt_source),
    }


def _error_json(error: ErrorLine) -> JsonDict:
    return {"line": error.line, "text": error.text, "kind": error.kind, "source": error.source}


def attempt_json(
    result: AttemptResult, write: RegistersWriter = _register_dicts, number: str | None = None
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
        "value": hex_value(refused.value),
        "current": hex_value(refused.current),
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
            {"id": format_id(kvm_id), "name": describe(kvm_id).name, "value": hex_value(value)}
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
        elif isinstance(value, _Written):
            items, opening, closing = value, "[", "]"
        else:
            items = [_dump(item, level + 1) for item in value]
            opening, closing = "[", "]"
        return opening + inner + ("," + inner).join(items) + "\n" + "  " * level + closing
    return json.dumps(value, ensure_ascii=True)


def json_parts(report: Report, attempts: Iterable[str]) -> Iterator[str]:
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


def json_attempt(result: AttemptResult, number: str | None = None) -> str:
    """One attempt's part of the JSON report (``render.render_attempt``)."""
    return _dump(attempt_json(result, _register_texts, number), 2)


# What does not depend on the attempt is written once per run (bounded).
_JSON_HEADS: dict[tuple[object, ...], tuple[str, str]] = {}


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
        parts = remember(_JSON_HEADS, key, (head + '"lines": [', "]" + tail))
    return parts[0] + numbers + parts[1]
