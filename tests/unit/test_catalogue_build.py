"""The catalogue's generated tables: the repository ships what the TSVs make, and the catalogue
reads back exactly what was built, without building anything itself."""

from __future__ import annotations

import subprocess
import sys

import pytest

from parsers import catalogue, catalogue_build


@pytest.fixture(scope="module")
def built() -> catalogue_build.Tables:
    return catalogue_build.build()


def test_the_shipped_tables_are_what_the_sources_make(built: catalogue_build.Tables) -> None:
    for name, text in catalogue_build.render(built).items():
        shipped = (catalogue_build.DATA / name).read_text(encoding="utf-8")
        assert shipped == text, f"parsers/data/{name} is stale: run scripts/make_catalogue.py"


def test_every_id_reads_back_its_names_and_note(built: catalogue_build.Tables) -> None:
    for kvm_id, names in built.names.items():
        assert catalogue._entry(kvm_id) == (names, built.notes.get(kvm_id, "")), hex(kvm_id)
        for neighbour in (kvm_id - 1, kvm_id + 1):  # the ends of each run of alike ids
            if neighbour not in built.names:
                assert catalogue._entry(neighbour) == ([], ""), hex(neighbour)
    assert catalogue._entry(0) == ([], "")
    assert catalogue._entry((1 << 64) - 1) == ([], "")


def test_every_name_reads_back_its_ids(built: catalogue_build.Tables) -> None:
    for name, ids in built.by_name.items():
        assert catalogue.lookup_name(name.upper()) == ids, name
    for missing in ("", "tcr2_el", "tcr2_el1x", "~", "0"):
        assert catalogue.lookup_name(missing) == []


def test_catalogue_ids_are_the_built_ones_and_kvm_s_own(built: catalogue_build.Tables) -> None:
    pseudo = {kvm_id for kvm_id, _ in catalogue.pseudo_names()}
    assert catalogue.catalogue_ids() == sorted(set(built.names) | pseudo)


def test_describing_and_looking_up_build_nothing() -> None:
    code = (
        "import sys\n"
        "from parsers import catalogue\n"
        "assert catalogue.describe(0x603000000013C103).name == 'TCR2_EL1'\n"
        "assert 0x40200000200F0800 in catalogue.lookup_name('sctlr')\n"
        "assert 'parsers.catalogue_build' not in sys.modules\n"
        "assert 'importlib.resources' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
