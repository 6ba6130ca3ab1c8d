"""Configuration registers apart from run-time state, PSCI versions, and the ID register fields
that decide whether KVM offers a register (reginspect.configuration)."""

from __future__ import annotations

import pytest

from parsers.catalogue import lookup_name
from parsers.regids import cp_id, sysreg_id
from reginspect.configuration import (
    GATES,
    ID_AA64MMFR3_EL1,
    PSCI_VERSION,
    SCTLR2_EL1,
    differs_in_configuration,
    gate_phrase,
    is_configuration,
    psci_refusal,
    psci_value,
    psci_version,
)


def _id(name: str) -> int:
    """The AArch64 (or only) id of a register name."""
    found = lookup_name(name)
    return next((kvm_id for kvm_id in found if kvm_id >> 56 == 0x60), found[0])


@pytest.mark.parametrize(
    "name",
    [
        "MIDR_EL1",
        "REVIDR_EL1",
        "ID_AA64MMFR3_EL1",
        "ID_AA64PFR0_EL1",
        "CLIDR_EL1",
        "CTR_EL0",
        "PMCEID1_EL0",
        "PMMIR_EL1",
        "KVM_REG_ARM_PSCI_VERSION",
        "KVM_REG_ARM_VENDOR_HYP_BMAP_2",
        "DBGDIDR",
    ],
)
def test_configuration_registers(name: str) -> None:
    assert is_configuration(_id(name))


@pytest.mark.parametrize(
    "name",
    [
        "CNTPCT_EL0",
        "CNTV_CTL_EL0",
        "SCTLR_EL1",
        "SCTLR2_EL1",
        "TCR2_EL1",
        "TTBR0_EL1",
        "CSSELR_EL1",
        "PMINTENSET_EL1",
        "MDSCR_EL1",
    ],
)
def test_run_time_state(name: str) -> None:
    assert not is_configuration(_id(name))


def test_aarch32_views() -> None:
    assert is_configuration(cp_id(15, 0, 0, 1, 4))  # ID_MMFR0
    assert is_configuration(cp_id(15, 1, 0, 0, 1))  # CLIDR
    assert not is_configuration(cp_id(15, 2, 0, 0, 0))  # CSSELR selects a cache: state
    assert not is_configuration(cp_id(15, 0, 1, 0, 0))  # SCTLR
    assert is_configuration(cp_id(14, 0, 0, 1, 0, is64=True))  # DBGDRAR (64-bit access)


def test_pmcr_differs_in_configuration_only_in_its_identifying_fields() -> None:
    pmcr = sysreg_id(3, 3, 9, 12, 0)
    # cortex-a35 -> cortex-a53 under TCG: the ID code differs.
    assert differs_in_configuration(pmcr, 0x410A3000, 0x41033000)
    # The enable bit is the guest's.
    assert not differs_in_configuration(pmcr, 0x41033001, 0x41033000)
    assert not differs_in_configuration(_id("ID_AA64PFR0_EL1"), 5, 5)
    assert differs_in_configuration(_id("ID_AA64PFR0_EL1"), 5, 6)
    assert not differs_in_configuration(_id("CNTPCT_EL0"), 5, 6)


def test_psci_versions_are_major_shifted_16_and_minor() -> None:
    assert psci_version(0x10003) == "1.3"
    assert psci_version(0x10001) == "1.1"
    assert psci_version(0x2) == "0.2"
    assert psci_value(0x10000) == "0x10000 (PSCI 1.0)"
    newer = psci_refusal(0x10003, 0x10001)
    assert "0x10003 (PSCI 1.3)" in newer
    assert "0x10001 (PSCI 1.1)" in newer
    assert "never a newer one" in newer
    assert "0x2 (PSCI 0.2)" in psci_refusal(0x2, None)
    assert "PSCI 0.1" in psci_refusal(0x1, 0x10001)


def test_registers_an_id_field_turns_on() -> None:
    gate = GATES[SCTLR2_EL1]
    assert gate.id_register == ID_AA64MMFR3_EL1
    # kvm-k612-to-k73-q11: the 6.12 source's ID_AA64MMFR3_EL1 0x101, the 7.3 destination's 0x111.
    assert gate.value(0x101) == 0
    assert gate.value(0x111) == 1
    assert gate_phrase(SCTLR2_EL1) == (
        "KVM offers SCTLR2_EL1 only while the guest's ID_AA64MMFR3_EL1.SCTLRX is not 0"
    )
    assert gate_phrase(PSCI_VERSION) is None
