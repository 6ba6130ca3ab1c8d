"""`reginspect report LOG...`: the migration attempts of QEMU logs, for terminals, CI and bugs."""

from __future__ import annotations

import argparse
import contextlib
import gc
import sys
from collections.abc import Iterable, Iterator, Sequence

from reginspect.analyze import Fixes, session_report
from reginspect.commands.arguments import add_have_argument, have_settings
from reginspect.errors import EXIT_USAGE, UserError
from reginspect.ingest import fanout_workers, read_logs
from reginspect.inputs import describe_source
from reginspect.model import Attempt, Session, SourceBuilder
from reginspect.render import render_parts
from reginspect.results import AttemptSummary, Report, Suggestion
from reginspect.suggest import FixOptions, suggestions_for
from reginspect.textsafe import printable

HELP = (
    "Summarise the migration attempts in QEMU logs (stderr, -D trace files, libvirt domain logs; "
    "plain or .gz/.xz/.zst/.bz2): missing, extra and matched CPU registers with names, and what "
    "to do. "
    "Exit status: 0 every attempt succeeded with no difference, 1 differences or failures, "
    "2 usage or input error."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format", choices=("text", "json", "markdown"), default="text", help="output form"
    )
    parser.add_argument(
        "--matched", action="store_true", help="list matched registers in the text form too"
    )
    add_log_arguments(parser)
    add_fix_arguments(parser)


def add_log_arguments(
    parser: argparse.ArgumentParser, logs_help: str = "log files; - reads stdin"
) -> None:
    """LOG... and ``--stream`` twice: what ``made_report`` reads. (argparse shows positional
    arguments apart from the options, wherever they are added.)"""
    parser.add_argument("logs", nargs="+", metavar="LOG", help=logs_help)
    parser.add_argument(
        "--stream",
        action="append",
        default=[],
        metavar="MIG",
        help="a saved migration stream or register list, twice: the source's, then the "
        "destination configuration's; completes the attempt they describe",
    )


def add_fix_arguments(parser: argparse.ArgumentParser) -> None:
    add_have_argument(
        parser, "an x-mig property value already set on the destination (repeatable); merged in"
    )
    parser.add_argument("--src-cpu", help="the source's -cpu model")
    parser.add_argument(
        "--dst-cpu", help="the destination's -cpu model (default: from the log, where there is one)"
    )
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
    have = have_settings(args.have)
    return FixOptions(have, args.src_cpu, args.dst_cpu, args.src_machine, args.dst_machine)


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


def _no_attempt(
    names: str, lines: int, unplaced: Sequence[SourceBuilder] = (), problems: Sequence[str] = ()
) -> UserError:
    if lines == 0 and problems:
        # Nothing decoded (a compressed file damaged early): the damage is the news.
        return UserError(f"{problems[0]} No migration attempt in what it held.", EXIT_USAGE)
    what = "is empty" if lines == 0 else f"has {lines} lines but no migration attempt in it"
    first = next((b.first_unplaced for b in unplaced if b.first_unplaced is not None), None)
    if first is not None:
        count = sum(b.unplaced for b in unplaced)
        what += printable(
            f" ({count} line(s) looked like QEMU's register lines but were not understood; "
            f"the first, {first.source}:{first.line}: {first.kind})"
        )
    return UserError(
        f"{names} {what}: give the destination QEMU's standard error or its -D trace file, "
        "or a libvirt domain log.",
        EXIT_USAGE,
    )


def load_session(paths: Sequence[str]) -> tuple[Session, list[str]]:
    """Read the logs; a run with no migration in them is a usage error with one sentence."""
    session, problems = read_logs(paths)
    if not session.attempts():
        names = ", ".join(session.sources)
        raise _no_attempt(names, session.line_count(), list(session.builders.values()), problems)
    return session, problems


@contextlib.contextmanager
def made_report(
    args: argparse.Namespace, form: str | None, fixes: Fixes, *, matched: bool = False
) -> Iterator[tuple[Report, Iterable[str] | None]]:
    """The report of the command line's logs, with its attempts already rendered in ``form``
    when other processes did it (None: render ``report.attempts``; ``matched``: the text form
    lists matched registers too). One big plain log is read
    by one process per core, each taking a region of it to the end (reginspect.fanout); their
    renderings wait in a temporary directory, removed on leaving."""
    compared, notes = load_streams(args.stream)
    log = args.logs[0]
    workers = fanout_workers(log) if compared is None and len(args.logs) == 1 else 1
    if workers > 1:
        import tempfile

        from reginspect import fanout  # big logs only: it pays for temporary files

        name = describe_source(log)
        with tempfile.TemporaryDirectory(prefix="reginspect-") as directory:
            fanned = fanout.fan_out(
                log, name, workers, form, matched=matched, fixes=fixes, directory=directory
            )
            if fanned is not None:
                if not fanned.report.summaries:
                    raise _no_attempt(name, fanned.lines)
                yield fanned.report, fanned.attempts
                return
    session, problems = load_session(args.logs)
    yield session_report(session, problems + notes, fixes, compared), None


def run(args: argparse.Namespace) -> int:
    # The model makes no reference cycles; a big log makes millions of small tuples, and the
    # collector's default pace spends about a tenth of the run finding none.
    gc.set_threshold(50_000, 20, 100)
    fixes = fixes_from_args(args)
    with made_report(args, args.format, fixes, matched=args.matched) as (report, attempts):
        for part in render_parts(report, args.format, matched=args.matched, attempts=attempts):
            sys.stdout.write(part)
    return report.exit_status
