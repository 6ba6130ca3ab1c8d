#!/usr/bin/env python3
"""Regenerate the SVG screenshots of the TUI's main screens into docs/screenshots/.

Each screen is the app made by ``tui.app.create_app`` (as the CLI makes it) on the small real
logs of tests/app/data, run headless at a fixed size until the files are read, then keys pressed.
Run from the repository root: ``.venv/bin/python scripts/screenshots.py``.
"""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.app.pilot import settled  # noqa: E402 - the repository must be on the path first
from tui.app import create_app  # noqa: E402

DATA = REPO / "tests" / "app" / "data"
OUT = REPO / "docs" / "screenshots"


@dataclass(frozen=True)
class Shot:
    name: str
    logs: tuple[str, ...]
    keys: tuple[str, ...] = ()
    size: tuple[int, int] = (110, 34)


SHOTS = (
    Shot("failed-registers", ("failed-11.1.log",), ("down", "down", "down")),
    Shot("failed-narrow-80x24", ("failed-11.1.log",), (), (80, 24)),
    Shot("detail-pane", ("failed-11.1.log",), ("down",) * 10, (110, 44)),
    Shot("suggestions", ("failed-11.1.log",), ("s",)),
    Shot("raw-log-jump", ("failed-11.1.log",), ("down", "down", "j")),
    Shot("counts-only", ("counts-7.2.log",)),
    Shot("raw-log-errors", ("counts-7.2.log",), ("l", "g", "e")),
    Shot("succeeded", ("succeeded-11.1.log",)),
    Shot("stderr-and-trace", ("failed-11.1.log", "failed-11.1.trace.log")),
    Shot("help", ("failed-11.1.log",), ("question_mark",), (80, 30)),
)


async def take(shot: Shot) -> str:
    app = create_app(list(shot.logs))
    app.animation_level = "none"  # a tab underline caught mid-slide would differ run to run
    async with app.run_test(size=shot.size) as pilot:
        if not await settled(app):
            raise SystemExit(f"{shot.name}: the logs were not read in time")
        await pilot.pause()
        for key in shot.keys:
            await pilot.press(key)
            await pilot.pause()
        await settled(app)
        await pilot.pause()
        return app.export_screenshot(title=f"reginspect {' '.join(shot.logs)}")


# `reginspect plan --tui` on the README's example: -M virt-7.2 -cpu cortex-a57 saved by QEMU 7.2,
# 10.0 and 11.1, the second direction's registers listed.
PLAN = (
    ("q7.2", "7.2-cortex-a57-to-cortex-a57/src.mig.xz", "7.2"),
    ("q10.0", "x10.0-to-11.1-cortex-a57/src.mig.xz", "10.0"),
    ("q11.1", "x10.0-to-11.1-cortex-a57/dst.mig.xz", "11.1"),
)


async def take_plan() -> str:
    from reginspect.plan import PlanOptions, plan_files
    from tui.plan_app import PlanApp

    corpus = REPO / "tests" / "corpus"
    plan = plan_files(
        [f"{label}={corpus / path}" for label, path, _ in PLAN],
        PlanOptions(qemu=tuple(f"{label}={qemu}" for label, _, qemu in PLAN)),
    )
    app = PlanApp(plan)
    app.animation_level = "none"
    async with app.run_test(size=(110, 34)) as pilot:
        await pilot.pause()
        await pilot.press("right")
        await pilot.pause()
        return app.export_screenshot(title="reginspect plan --tui")


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    os.chdir(DATA)  # short relative paths on screen, the same on every machine
    for shot in SHOTS:
        svg = asyncio.run(take(shot))
        (OUT / f"{shot.name}.svg").write_text(svg, encoding="utf-8")
        print(f"docs/screenshots/{shot.name}.svg")
    (OUT / "plan.svg").write_text(asyncio.run(take_plan()), encoding="utf-8")
    print("docs/screenshots/plan.svg")
    return 0


if __name__ == "__main__":
    sys.exit(main())
