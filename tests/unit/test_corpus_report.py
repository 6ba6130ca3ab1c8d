"""`report --format json` over every real migration of the corpus, checked against its oracle."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import CASES, CorpusCase, require_corpus

OUTCOMES = {"fail": "failed", "ok": "succeeded"}


def test_corpus_is_present() -> None:
    require_corpus()
    assert len(CASES) >= 21


def _report(run_cli: Any, case: CorpusCase) -> tuple[int, dict[str, Any]]:
    logs = case.destination_logs()
    status, out, err = run_cli("report", "--format", "json", *map(str, logs))
    assert err == "", err
    return status, json.loads(out)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_report_matches_oracle(run_cli: Any, case: CorpusCase) -> None:
    expected = case.expected
    status, report = _report(run_cli, case)
    attempts = report["attempts"]
    assert len(attempts) == 1, [a["outcome"] for a in attempts]
    attempt = attempts[0]
    assert attempt["outcome"] == OUTCOMES[expected["outcome"]]
    assert status == (0 if expected["outcome"] == "ok" and not expected["only_in_stream"] else 1)

    cpu0 = next(cpu for cpu in attempt["cpus"] if cpu["cpu"] == 0) if attempt["cpus"] else None
    extra = {r["id"] for r in cpu0["registers"] if r["status"] == "extra"} if cpu0 else set()
    missing = {r["id"] for r in cpu0["registers"] if r["status"] == "missing"} if cpu0 else set()

    if expected["dst"]["qemu"] == "11.1" and expected["outcome"] == "fail":
        # QEMU 11.1 names every difference: the log must give exactly the oracle's sets.
        assert attempt["naming"] == "named"
        assert extra == set(expected["only_in_stream"])
        assert missing == set(expected["only_on_destination"])
    elif expected["outcome"] == "fail":
        # QEMU <= 10.x names nothing: no register may be invented, and the report says how.
        assert attempt["naming"] == "counts"
        assert not extra
        assert not missing
        advice = " ".join(attempt["advice"])
        assert "-trace" in advice
        assert "reginspect compare" in advice

    logs_text = "".join(case.text(path) for path in case.destination_logs())
    prints_counts = "cpu_post_load cpreg" in logs_text or "Invalid value" in logs_text
    if prints_counts:
        assert cpu0 is not None
        assert cpu0["stream_count"] == expected["src_regs"]
        assert cpu0["destination_count"] == expected["dst_regs"]
    for cpu in attempt["cpus"]:
        for register in cpu["registers"]:
            assert register["known"], register
