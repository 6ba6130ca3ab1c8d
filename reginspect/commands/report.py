"""`reginspect report LOG...`: the migration attempts of QEMU logs, for terminals, CI and bugs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from reginspect.analyze import Fixes, session_report
from reginspect.errors import EXIT_USAGE, UserError
from reginspect.ingest import read_logs
from reginspect.model import Attempt, Session
from reginspect.report import render_parts
from reginspect.results import AttemptSummary, Suggestion
from reginspect.suggest import FixOptions, SettingError, parse_setting, suggestions_for
from reginspect.textsafe import printable

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
    add_stream_arguments(parser)
    add_fix_arguments(parser)


def add_stream_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stream",
        action="append",
        default=[],
        metavar="MIG",
        help="a saved migration stream or register list, twice: the source's, then the "
        "destination configuration's; completes the attempt they describe",
    )


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
    parser.add_argument(
        "--src-machine", help="the source's -machine type (default: from its saved stream)"
    )
    parser.add_argument(
        "--dst-machine",
        help="the destination's -machine type (default: from the log or its saved stream)",
    )


def fix_options(args: argparse.Namespace) -> FixOptions:
    """What the command line says of the two ends; a note on standard error for each name read
    as the x-mig series means it."""
    have = []
    for text in args.have:
        try:
            setting = parse_setting(text)
        except SettingError as error:
            raise UserError(f"--have: {error}") from None
        for note in setting.notes:
            print(f"reginspect: note: --have {printable(note)}", file=sys.stderr)
        have.append(setting)
    return FixOptions(tuple(have), args.src_cpu, args.dst_cpu, args.src_machine, args.dst_machine)


def fixes_from_args(args: argparse.Namespace) -> Fixes:
    """The suggestion engine, told what the command line says of the two ends."""
    options = fix_options(args)

    def fixes(summaries: Sequence[AttemptSummary]) -> list[Suggestion]:
        return suggestions_for(summaries, options)

    return fixes


def load_streams(paths: Sequence[str]) -> tuple[Attempt | None, list[str]]:
    """``--stream SRC --stream DST``: their comparison and its notes (None when not given)."""
    if not paths:
        return None, []
    if len(paths) != 2:
        raise UserError(
            "give --stream twice: the source's saved stream, then the destination's.", EXIT_USAGE
        )
    from reginspect.streams import compare_files  # reads streams: only when asked to

    attempt, notes = compare_files(paths[0], paths[1])
    return attempt, notes


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
    compared, notes = load_streams(args.stream)
    session, problems = load_session(args.logs)
    report = session_report(session, problems + notes, fixes, compared)
    for part in render_parts(report, args.format, matched=args.matched):
        sys.stdout.write(part)
    return report.exit_status
