"""The name catalogue: every row round-trips, and every register of the real corpus is named."""

from __future__ import annotations

import lzma
import re

import pytest

from parsers.catalogue import catalogue_ids, describe, lookup_name
from parsers.regids import format_id, parse_reference
from parsers.stream import parse_stream
from tests.conftest import CASES, CorpusCase, require_corpus


def test_every_catalogue_id_round_trips_through_its_name() -> None:
    ids = catalogue_ids()
    assert len(ids) > 1500
    for kvm_id in ids:
        info = describe(kvm_id)
        assert info.known, format_id(kvm_id)
        assert kvm_id in lookup_name(info.name), (format_id(kvm_id), info.name)


def test_names_are_case_insensitive_and_aliases_count() -> None:
    assert lookup_name("tcr2_el1") == [0x603000000013C103]
    assert lookup_name("BOGUS_DBGDTR_EL0") == [0x40200000200E0298]
    assert 0x40200000200E0298 in lookup_name("dbgdtrtx")


def test_unknown_encodings_get_generic_names_marked_unknown() -> None:
    info = describe(parse_reference("S3_7_C15_C15_7").kvm_id)
    assert (info.name, info.known) == ("S3_7_C15_C15_7", False)
    aarch32 = describe(parse_reference("p14, 7, c15, c15, 7").kvm_id)
    assert (aarch32.name, aarch32.known) == ("p14, 7, c15, c15, 7", False)


def test_the_issue_examples() -> None:
    names = [describe(i).name for i in (0x603000000013C103, 0x603000000013C512, 0x603000000013C513)]
    assert names == ["TCR2_EL1", "PIRE0_EL1", "PIR_EL1"]
    assert describe(0x6030000000160003).name == "KVM_REG_ARM_VENDOR_HYP_BMAP_2"
    bogus = describe(0x40200000200E0298)
    assert bogus.name == "DBGDTRTX"
    assert "BOGUS_DBGDTR_EL0" in bogus.aliases
    assert bogus.kind == "cp14"


_KEY = re.compile(r"system register (0x[0-9a-f]+)")


def _logs_text(case: CorpusCase) -> str:
    return "".join(case.text(path) for path in case.destination_logs())


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_every_id_of_the_corpus_is_named(case: CorpusCase) -> None:
    ids = {int(key, 16) for key in _KEY.findall(_logs_text(case))}
    ids = {parse_reference(f"system register 0x{key:x}").kvm_id for key in ids}
    ids |= {int(value, 16) for value in case.expected["only_in_stream"]}
    ids |= {int(value, 16) for value in case.expected["only_on_destination"]}
    for side in ("src", "dst"):
        stream = case.file(case.expected["streams"][side])
        if stream is None:
            continue
        contents = parse_stream(lzma.decompress(stream.read_bytes()))
        assert contents.error is None, contents.error
        for cpu in contents.cpus:
            ids |= set(cpu.indexes)
    unnamed = sorted(format_id(i) for i in ids if not describe(i).known)
    assert unnamed == []


def test_corpus_streams_ids_are_all_named() -> None:
    require_corpus()
    ids: set[int] = set()
    for case in CASES:
        for side in ("src", "dst"):
            stream = case.file(case.expected["streams"][side])
            if stream is not None:
                for cpu in parse_stream(lzma.decompress(stream.read_bytes())).cpus:
                    ids |= set(cpu.indexes)
    assert len(ids) >= 386
    assert all(describe(i).known for i in ids)
