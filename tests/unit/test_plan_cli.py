"""`reginspect plan` as a command: the text table's width, the JSON schema and exit status, the
Markdown, labels, untrusted names, and one sentence for every usage or input error."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from reginspect.plan import plan_files
from reginspect.plan_render import TABLE_TITLE, cell_label
from tests.conftest import KVM_CASES, REPO
from tests.unit.test_plan import KVM, VIRT_72, XMIG

Run = Any  # the run_cli fixture: (*args) -> (status, stdout, stderr)
SCHEMA = json.loads((REPO / "reginspect" / "plan.schema.json").read_text())


def table_of(text: str) -> list[str]:
    """The matrix lines of the text form: its header row to the blank line before the legend."""
    lines = text.splitlines()
    start = lines.index(TABLE_TITLE) + 1
    return lines[start : lines.index("", start)]


@pytest.mark.parametrize("count", [2, 3, 4, 5, 6])
def test_the_table_fits_100_columns_for_up_to_6_inputs_with_every_count(
    run_cli: Run, count: int
) -> None:
    status, out, err = run_cli("plan", *VIRT_72[:count])
    assert status == 1
    assert err == ""
    table = table_of(out)
    assert len(table) == count + 1
    assert all(len(line) <= 100 for line in out.splitlines() if not line.startswith("      "))
    assert all(len(line) <= 100 for line in table)
    plan = plan_files(VIRT_72[:count])
    # Every direction's counts are in its cell, as the plan computed them.
    for cell in plan.cells:
        row = table[cell.source + 1]
        assert cell_label(cell) in row or cell_label(cell, short=True) in row


def test_beyond_6_inputs_the_table_is_compact_and_still_fits(run_cli: Run) -> None:
    status, out, _ = run_cli("plan", *VIRT_72)
    assert status == 1
    table = table_of(out)
    assert len(table) == len(VIRT_72) + 1
    assert all(len(line) <= 100 for line in table)
    assert table[0].split() == [str(n) for n in range(1, len(VIRT_72) + 1)]
    assert "Compact cells" in out


@pytest.mark.parametrize("arguments", [VIRT_72, KVM, XMIG], ids=["virt-7.2", "kvm", "x-mig"])
def test_the_json_follows_its_schema_and_the_exit_status_says_whether_all_migrate(
    run_cli: Run, arguments: list[str]
) -> None:
    status, out, err = run_cli("plan", "--format", "json", *arguments)
    assert err == ""
    document = json.loads(out)
    jsonschema.validate(document, SCHEMA)
    fails = any(pair["verdict"].startswith("fails") for pair in document["pairs"])
    assert status == document["exit_status"] == (1 if fails else 0)
    labels = [each["label"] for each in document["inputs"]]
    assert len(document["pairs"]) == len(labels) * (len(labels) - 1)
    assert {pair["source"] for pair in document["pairs"]} == set(labels)


def test_equal_lists_exit_0(run_cli: Run) -> None:
    same = next(c for c in KVM_CASES if c.name == "kvm-k73-q11-to-q11")
    status, out, _ = run_cli(
        "plan", f"a={same.path / 'src.mig.xz'}", f"b={same.path / 'dst.mig.xz'}"
    )
    assert status == 0
    assert "with nothing to fix, every direction migrates." in out
    assert "no property or tolerance is needed" in out
    assert "the fix for the whole set" not in out


def test_markdown_has_the_matrix_and_every_failing_directions_names(run_cli: Run) -> None:
    status, out, _ = run_cli("plan", "--format", "markdown", *KVM)
    assert status == 1
    assert out.startswith("# reginspect plan: 7 host configurations")
    rows = [line for line in out.splitlines() if re.match(r"^\| \d+ ", line)]
    assert len(rows) == 2 * len(KVM)  # the inputs' table, then the matrix
    assert "## The fix for the whole set" in out
    assert "arm_register_cpreg_mig_tolerance(cpu, ARM64_SYS_REG(3, 0, 9, 14, 6)" in out


def test_names_lists_every_register_of_a_direction(run_cli: Run) -> None:
    every_pair = plan_files(VIRT_72)
    widest = max(every_pair.cells, key=lambda cell: len(cell.missing))
    pair = [VIRT_72[widest.source], VIRT_72[widest.destination]]
    _, short, _ = run_cli("plan", *pair)
    _, full, _ = run_cli("plan", "--names", *pair)
    plan = plan_files(pair)
    widest = plan.cell(0, 1)
    assert len(widest.missing) > 12
    every = [plan.name(kvm_id) for kvm_id in sorted(widest.missing)]
    flat = " ".join(full.split())
    assert ", ".join(every) in flat
    assert "and " + str(len(every) - 12) + " more" in " ".join(short.split())


def test_form_chooses_what_the_text_prints(run_cli: Run) -> None:
    _, out, _ = run_cli("plan", "--form", "tolerance", *KVM)
    assert "tolerance lines (QEMU >= 11.1 source):" in out
    assert "machine type compat" not in out
    assert "-global" not in out


def test_untrusted_labels_are_inert(run_cli: Run, tmp_path: Path) -> None:
    one, two = (KVM[0].split("=", 1)[1], KVM[1].split("=", 1)[1])
    hostile = "\x1b]52;c;aGk\x07[bold]x"
    _, text, _ = run_cli("plan", f"{hostile}={one}", f"b={two}")
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\\x1b]52" in text
    _, markdown, _ = run_cli("plan", "--format", "markdown", f"{hostile}={one}", f"b={two}")
    assert "\x1b" not in markdown
    assert "\\[bold\\]" in markdown


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["{one}"], "give at least two register lists"),
        (["{one}", "{one}"], "is given twice"),
        (["a={one}", "a={two}"], "the label 'a' names two inputs"),
        (["a={one}", "b={two}", "--qemu", "c=11.1"], "--qemu: no input is labelled 'c'"),
        (["a={one}", "b={two}", "--qemu", "eleven"], "is not a QEMU version"),
        (["a={one}", "b={two}", "--accel", "hvf"], "--accel: 'hvf' is not kvm or tcg"),
        (["a={one}", "b={two}", "--have", "x-mig-foo=1"], "--have: x-mig-foo is not an x-mig"),
        (["a={one}", "b={two}", "--form", "compat", "--format", "json"], "--form chooses"),
        (["a={one}", "{missing}"], "no such file"),
    ],
)
def test_usage_and_input_errors_are_one_sentence_and_exit_2(
    run_cli: Run, tmp_path: Path, arguments: list[str], message: str
) -> None:
    one, two = (KVM[0].split("=", 1)[1], KVM[1].split("=", 1)[1])
    filled = [a.format(one=one, two=two, missing=tmp_path / "nothing.mig") for a in arguments]
    status, out, err = run_cli("plan", *filled)
    assert status == 2
    assert out == ""
    assert message in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_the_command_is_listed_and_its_help_names_the_inputs(run_cli: Run) -> None:
    with pytest.raises(SystemExit):
        run_cli("plan", "--help")
    status, _, _ = run_cli()
    assert status == 2


def test_plan_is_imported_only_when_chosen() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from reginspect.cli import main\n"
        "try:\n    main(['report', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if 'plan' in m))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_the_readme_example_is_the_commands_real_output(
    run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = (REPO / "README.md").read_text()
    block = readme.split("$ cd tests/corpus\n", 1)[1].split("```", 1)[0]
    command, shown = block.split("\n", 2)[:2], block.split("\n", 2)[2]
    words = " ".join(line.rstrip("\\").strip() for line in command).split()
    assert words[:2] == ["$", "reginspect"]
    monkeypatch.chdir(REPO / "tests" / "corpus")
    _, out, _ = run_cli(*words[2:])
    real = out.splitlines()
    position = 0
    for line in shown.splitlines():
        if line.strip().startswith("[…"):
            continue  # the README cuts the forms' bodies, and says so
        position = real.index(line, position) + 1
    assert position == len(real)  # down to the real output's last line
