"""benchmarks/run.py end to end on a tiny log: every key of the result file is there and the
report it measured is correct. No timing is asserted: numbers depend on the machine."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks import run
from tests.conftest import REPO

SCRIPT = REPO / "benchmarks" / "run.py"
TOP = {"schema", "started", "args", "machine", "goals", "log", "report", "grep", "wc", "ratios"}
TOP |= {"tui", "decode", "compare", "plan", "probe", "correct", "dense", "startup", "pathological"}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for the module: the generated log is made once."""
    return tmp_path_factory.mktemp("bench-cache")


def bench(
    tmp_path: Path, cache: Path, *extra: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    out = tmp_path / "result.json"
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--quick",
            "--size",
            "4M",
            "--decode-ids",
            "3000",
            "--pairs",
            "2",
            "--skip-probe",
            "--cache",
            str(cache),
            "--json",
            str(out),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(out.read_text())
    return done, result


def number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def test_quick_run_writes_every_key_and_the_report_is_correct(tmp_path: Path, cache: Path) -> None:
    done, result = bench(tmp_path, cache, "--skip-tui", "--skip-dense")
    assert result.keys() >= TOP
    assert result["schema"] == run.SCHEMA
    assert result["correct"] is True
    log = result["log"]
    assert log["size"] == pytest.approx(4 << 20, rel=0.01)

    report = result["report"]
    assert report["status"] == "ok"
    assert report["exit_status"] == 1  # the log ends with a failure
    correctness = report["correctness"]
    assert correctness["passed"] is True
    assert set(correctness["checks"]) == {
        "attempts",
        "outcomes",
        "last_failure_extra",
        "last_failure_missing",
        "counts",
    }
    assert correctness["checks"]["last_failure_extra"]["want"]  # the 11.1 failure names some
    for name in ("report", "grep", "wc"):
        part = result[name]
        assert {"best_s", "median_s", "runs_s", "mb_per_s", "cpu_best_s", "cpu_s_per_gib"} <= (
            part.keys()
        )
        assert len(part["runs_s"]) == 1  # --quick: one run after the warm-up
        assert all(number(part[key]) for key in ("best_s", "median_s", "mb_per_s"))
    assert result["wc"]["lines_ok"] is True
    memory = report["memory"]
    assert {"peak_mb", "largest_process_mb", "tree_rss_mb", "tree_pss_mb"} <= memory.keys()
    assert memory["largest_process_mb"] > 0
    assert memory["returncode"] == 1
    assert number(result["ratios"]["report_over_grep"])
    assert number(result["ratios"]["report_over_wc"])
    assert number(result["ratios"]["report_over_grep_cpu"])

    decode = result["decode"]
    assert decode["status"] == "ok"
    assert decode["correct"] is True
    assert decode["ids"] == 3000
    assert number(decode["cli"]["ids_per_s"])
    assert number(decode["api"]["ids_per_s"])

    compare = result["compare"]
    assert compare["status"] == "ok"
    assert compare["pairs"] == 2
    assert compare["stream_bytes"]["min"] > 0

    plan = result["plan"]
    assert plan["status"] == "ok"
    assert plan["inputs"] == 6
    assert number(plan["cli_best_s"])

    assert result["tui"] == {"status": "skipped", "reason": "--skip-tui"}
    for name in ("dense", "startup", "pathological"):
        assert result[name] == {"status": "skipped", "reason": "--skip-dense"}
    assert result["probe"]["status"] == "skipped"
    goals = result["goals"]
    assert set(goals) == {goal.key for goal in run.GOALS}
    for key in ("tui.full_table_s", "tui.append_ms.p95", "tui.peak_rss_mb"):
        assert goals[key]["verdict"] == "n/a"
    for key in (
        "report.mb_per_s",
        "ratios.report_over_grep",
        "report.memory.peak_mb",
        "plan.cli_best_s",
    ):
        assert goals[key]["verdict"] in {"PASS", "MISS"}

    # The table names every measure and judges every goal.
    for text in ("report --format json", "grep -c", "wc -l", "report / grep", "decode -"):
        assert text in done.stdout
    assert "compare" in done.stdout
    assert str(tmp_path / "result.json") in done.stdout

    # The cached log is reused while its sha256 matches the manifest, and made again if not.
    path, manifest, info = run.cached_log(cache, 4 << 20, version="mixed", seed=0, failures=3)
    assert info["reused"] is True
    assert manifest["sha256"] == log["sha256"] == run.sha256_of(path)
    with path.open("r+b") as damaged:
        damaged.write(b"X")
    _, _, info = run.cached_log(cache, 4 << 20, version="mixed", seed=0, failures=3)
    assert info["reused"] is False
    assert run.sha256_of(path) == log["sha256"]


def test_headless_tui_part_measures_the_full_table_and_appends(cache: Path) -> None:
    log, manifest, _ = run.cached_log(cache, 4 << 20, version="mixed", seed=0, failures=3)
    before = run.sha256_of(log)
    tui = run.bench_tui(log, manifest, 3, 0, cache, 120.0)
    assert tui["status"] == "ok", tui.get("reason")
    assert tui["appends"] == 3
    assert tui["appends_missed"] == 0
    assert number(tui["full_table_s"])
    assert all(number(tui["append_ms"][key]) for key in ("p50", "p95", "max"))
    assert len(tui["append_ms_each"]) == 3
    assert set(tui["append_stages_ms"]) == {"session", "view", "table"}
    assert number(tui["peak_rss_mb"])
    # Appends go to a copy, removed with the blocks; the cached log is untouched.
    assert not list(cache.glob("tui-*"))
    assert run.sha256_of(log) == before


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert run._percentile(values, 0.5) == 50
    assert run._percentile(values, 0.95) == 95
    assert run._percentile([7.0], 0.95) == 7


def test_a_goal_without_a_value_is_not_judged() -> None:
    floor = run.Goal("x", "x", 300, " MB/s", at_least=True)
    ceiling = run.Goal("y", "y", 3, "×")
    assert (floor.verdict(None), floor.verdict(300), floor.verdict(299.9)) == (
        "n/a",
        "PASS",
        "MISS",
    )
    assert (ceiling.verdict(3), ceiling.verdict(3.1)) == ("PASS", "MISS")


def test_dense_only_run_checks_every_answer_against_the_manifests(
    tmp_path: Path, cache: Path
) -> None:
    done, result = bench(tmp_path, cache, "--dense-only", "--dense-scale", "0.002", "--skip-tui")
    assert result.keys() >= TOP
    assert result["correct"] is True
    for name in ("log", "report", "grep", "wc", "ratios", "decode", "compare", "probe"):
        assert result[name] == {"status": "skipped", "reason": "--dense-only"}
    for name, attempts in (("failures", 4), ("register_lines", None)):
        part = result["dense"][name]
        assert part["status"] == "ok", part.get("reason")
        assert part["correctness"]["passed"] is True
        assert set(part["correctness"]["checks"]) == {
            "attempts",
            "outcomes",
            "cpus",
            "extra_missing_counts",
            "counts",
            "extra_missing_ids",
        }
        if attempts is not None:
            assert part["attempts"] == attempts
        assert number(part["best_s"])
        assert number(part["cpu_best_s"])
        assert part["memory"]["peak_mb"] > 0
    assert result["dense"]["register_lines"]["register_lines"] >= 2000
    assert result["dense"]["tui"] == {"status": "skipped", "reason": "--skip-tui"}
    startup = result["startup"]
    assert number(startup["ratio"])
    assert len(startup["report"]["runs_s"]) == 10  # best of 10 at least
    for kind in run.PATHOLOGICAL:
        part = result["pathological"][kind]
        assert part["status"] == "ok", part.get("reason")
        for size in run.SIZES:
            assert part[size]["correct"] is True
            assert part[size]["got"] == {key: part[size]["want"][key] for key in run.TOTAL_KEYS}
            assert number(part[size]["us_per_line"])
        assert number(part["growth"])
    goals = result["goals"]
    for key in ("dense.failures.best_s", "dense.register_lines.memory.peak_mb", "startup.ratio"):
        assert goals[key]["verdict"] in {"PASS", "MISS"}
    assert goals["dense.tui.full_table_s"]["verdict"] == "n/a"
    for text in ("real failures", "register lines", "python -c pass", "random-keys", "cpus"):
        assert text in done.stdout


def test_headless_tui_shows_the_last_of_the_dense_failures(cache: Path) -> None:
    tui = run.bench_dense_tui(cache, 4, 0, 120.0)
    assert tui["status"] == "ok", tui.get("reason")
    assert number(tui["full_table_s"])
    assert number(tui["peak_rss_mb"])
    assert tui["appends"] == 0


def test_a_wrong_answer_is_never_a_pass() -> None:
    goal = run.Goal("x", "x", 1, " s", exact="x_exact")
    assert goal.judge({"x": 0.5, "x_exact": True}) == "PASS"
    assert goal.judge({"x": 0.5, "x_exact": False}) == "WRONG"
    assert goal.judge({"x": 0.5}) == "PASS"  # nothing checked, nothing found wrong


def test_totals_are_counted_in_pieces(tmp_path: Path) -> None:
    report = {
        "attempts": [
            {
                "outcome": "failed",
                "cpus": [{"stream_count": None, "registers": [{"status": "extra"}]}],
            }
            for _ in range(3)
        ]
    }
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report, indent=2))
    assert run.count_totals(path) == {"attempts": 3, "cpus": 3, "extra": 3}
