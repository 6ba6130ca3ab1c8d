"""`reginspect compare SRC DST`: the register lists of two saved streams or JSON lists, compared.

SRC is what the source sends, DST what the destination configuration carries (its own saved
stream, or its `probe --json` list): registers only in SRC are extra, only in DST missing.
The fixes come from the same engine as `report`'s.
"""

from __future__ import annotations

import argparse
import sys

from reginspect.analyze import attempt_result
from reginspect.commands.report import add_fix_arguments, fixes_from_args
from reginspect.errors import EXIT_FINDINGS, EXIT_OK
from reginspect.render import render
from reginspect.results import Report
from reginspect.streams import compare_files

HELP = (
    "Compare the CPU register lists of two QEMU migration streams saved with "
    '`migrate "exec:cat > FILE"` (plain or .gz/.xz/.zst/.bz2), JSON register lists from '
    "`decode --json` / `probe --json`, or a host's `get-reg-list --list` output (the kernel's "
    "KVM selftest): extra, missing and matched registers per CPU, with "
    "values, and the fixes. Exit status: 0 identical lists and values, 1 any difference, "
    "2 usage or input error."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="SRC", help="the source's stream or register list")
    parser.add_argument(
        "destination",
        metavar="DST",
        help="the destination configuration's stream or register list",
    )
    parser.add_argument(
        "--format", choices=("text", "json", "markdown"), default="text", help="output form"
    )
    parser.add_argument(
        "--matched", action="store_true", help="list matched registers in the text form too"
    )
    add_fix_arguments(parser)


def run(args: argparse.Namespace) -> int:
    fixes = fixes_from_args(args)
    attempt, problems = compare_files(args.source, args.destination)
    result = attempt_result(attempt)
    suggestions = tuple(fixes((result.summary,)))
    report = Report(
        tuple(attempt.sources), (result.summary,), (result,), suggestions, tuple(problems)
    )
    sys.stdout.write(render(report, args.format, matched=args.matched))
    return EXIT_FINDINGS if result.summary.has_differences else EXIT_OK
