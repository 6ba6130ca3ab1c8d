"""`reginspect report LOG...`: the migration attempts of QEMU logs, for terminals, CI and bugs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from reginspect.analyze import Fixes, session_report
from reginspect.errors import EXIT_USAGE, UserError
from reginspect.ingest import read_logs
from reginspect.model import Session
from reginspect.report import render_parts
from reginspect.results import AttemptSummary, Suggestion
from reginspect.suggest import SettingError, parse_setting, suggestions_for

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


def fixes_from_args(args: argparse.Namespace) -> Fixes:
    """The suggestion engine, told what the command line says of the two ends."""
    have: dict[str, set[int]] = {}
    for setting in args.have:
        try:
            name, ids = parse_setting(setting)
        except SettingError as error:
            raise UserError(f"--have: {error}") from None
        have.setdefault(name, set()).update(ids)

    def fixes(summaries: Sequence[AttemptSummary]) -> list[Suggestion]:
        return suggestions_for(
            summaries,
            have,
            src_cpu=args.src_cpu,
            dst_cpu=args.dst_cpu,
            src_machine=args.src_machine,
            dst_machine=args.dst_machine,
        )

    return fixes


def load_session(paths: Sequence[str]) -> tuple[Session, list[str]]:
    """Read the logs; a run with no migration in them is a usage error with one sentence."""
    session, problems = read_logs(paths)
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
    return session, problems


def run(args: argparse.Namespace) -> int:
    fixes = fixes_from_args(args)
    session, problems = load_session(args.logs)
    report = session_report(session, problems, fixes)
    for part in render_parts(report, args.format, matched=args.matched):
        sys.stdout.write(part)
    return report.exit_status
