"""`reginspect report LOG...`: the migration attempts of QEMU logs, for terminals, CI and bugs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from parsers import catalogue
from reginspect.errors import EXIT_USAGE, UserError
from reginspect.loading import load_logs
from reginspect.model import Attempt, Session
from reginspect.report import build_report, exit_status, render
from reginspect.suggest import SettingError, Suggestion, parse_setting, suggestions_for

HELP = (
    "Summarise the migration attempts in QEMU logs (stderr, -D trace files, libvirt domain logs; "
    "plain or .gz/.xz/.zst): missing, extra and matched CPU registers with names, and what to do. "
    "Exit status: 0 every attempt succeeded with no difference, 1 differences or failures, "
    "2 usage or input error."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("logs", nargs="+", metavar="LOG", help="log files; - reads stdin")
    parser.add_argument(
        "--format", choices=("text", "json", "markdown"), default="text", help="output form"
    )
    parser.add_argument(
        "--matched", action="store_true", help="list matched registers in the text form too"
    )
    add_fix_arguments(parser)


def add_fix_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--have",
        action="append",
        default=[],
        metavar="PROP=IDS",
        help="an x-mig property value already set on the destination (repeatable); merged in",
    )
    parser.add_argument("--src-cpu", help="the source's -cpu model")
    parser.add_argument("--dst-cpu", help="the destination's -cpu model (default: from the log)")
    parser.add_argument("--src-machine", help="the source's -machine type")
    parser.add_argument("--dst-machine", help="the destination's -machine type")


def suggestions_from_args(
    attempts: Sequence[Attempt], args: argparse.Namespace
) -> list[Suggestion]:
    have: dict[str, set[int]] = {}
    for setting in args.have:
        try:
            name, ids = parse_setting(setting)
        except SettingError as error:
            raise UserError(f"--have: {error}") from None
        have.setdefault(name, set()).update(ids)
    return suggestions_for(
        attempts,
        have,
        src_cpu=args.src_cpu,
        dst_cpu=args.dst_cpu,
        src_machine=args.src_machine,
        dst_machine=args.dst_machine,
    )


def load_attempts(
    paths: Sequence[str], meanwhile: Callable[[], None] | None = None
) -> tuple[Session, list[Attempt], list[str]]:
    """Read the logs (see load_logs for ``meanwhile``); a run with no migration in them is a
    usage error with one sentence."""
    session, problems = load_logs(paths, meanwhile=meanwhile)
    attempts = session.attempts()
    if not attempts:
        total = session.line_count()
        what = "is empty" if total == 0 else f"has {total} lines but no migration attempt in it"
        names = ", ".join(session.sources)
        raise UserError(
            f"{names} {what}: give the destination QEMU's standard error or its -D trace file, "
            "or a libvirt domain log.",
            EXIT_USAGE,
        )
    return session, attempts, problems


def run(args: argparse.Namespace) -> int:
    # The name tables are built while the log is read (by worker processes when it is big).
    session, attempts, problems = load_attempts(args.logs, meanwhile=catalogue.load)
    suggestions = [s.to_json() for s in suggestions_from_args(attempts, args)]
    report = build_report(session.sources, attempts, suggestions, problems)
    sys.stdout.write(render(report, args.format, matched=args.matched))
    return exit_status(attempts)
