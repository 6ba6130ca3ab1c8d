"""The x-mig series as data: its postings, which machine types' compat sets which ids, and the
form a change to a machine type's compat takes in each posting.

The properties ``x-mig-safe-missing-regs`` and ``x-mig-hidden-regs`` exist only in QEMU builds
carrying one of the series' postings (v2 to v6 on qemu-devel; upstream QEMU 11.1 merged in-code
tolerances instead). Facts from each posting's own ``hw/arm/virt.c`` (see the README):

- v2: only ``virt-10.1`` (and older) set anything: one ``GlobalProperty`` per property.
- v3, v4: ``virt-10.2`` (the latest, so ``-M virt`` too) sets ``x-mig-safe-missing-regs`` to
  DBGDTRTX; the example patch adds, for ``virt-10.1`` and older, a second ``GlobalProperty`` for
  the same property (TCR2_EL1, PIRE0_EL1, PIR_EL1), so those machine types set it twice and QEMU
  aborts at start (the seed thread), and hides KVM_REG_ARM_VENDOR_HYP_BMAP_2.
- v5, v6: the same ids, collected per machine type by ``arm_virt_compat_register_*_reg(vmc, ID)``
  and set once (``arm_virt_aggregate_x_mig_props()`` writes them as decimal numbers joined by
  ``", "``); ``virt-11.0`` is the latest and sets nothing.

An array property can be set once: where a machine type's compat sets it, every ``-global`` (or
``-cpu``) setting of it is a second setting and QEMU refuses it. Only the compat itself, in the
source code, can then be extended.
"""

# Annotations are evaluated at import (no `from __future__ import annotations`): typing's
# NamedTuple compiles every string annotation, a tenth of a small report's start-up.

import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, NamedTuple

from parsers.lazyre import LazyPattern

SAFE_MISSING: Final = "x-mig-safe-missing-regs"
HIDDEN: Final = "x-mig-hidden-regs"
PROPERTIES: Final = (SAFE_MISSING, HIDDEN)
DRIVER: Final = "arm-cpu"

# The ids the series' compat code names (its own #defines and comments).
DBGDTRTX: Final = 0x40200000200E0298  # the bogus AArch32 DBGDTRTX (p14, 3, c0, c5, 0)
TCR2_EL1: Final = 0x603000000013C103
PIRE0_EL1: Final = 0x603000000013C512
PIR_EL1: Final = 0x603000000013C513
VENDOR_HYP_BMAP_2: Final = 0x6030000000160003

# Names the series' source gives an id that a name lookup finds several ids for: hw/arm/virt.c
# has "#define DBGDTRTX 0x40200000200e0298".
SERIES_NAMES: Final[Mapping[str, int]] = {"dbgdtrtx": DBGDTRTX}


class CompatStyle(enum.StrEnum):
    """How a posting's machine types set the properties in ``hw/arm/virt.c``."""

    GLOBAL_PROPERTY = "GlobalProperty"  # v2-v4: a GlobalProperty entry per compat level
    REGISTER_CALLS = "register calls"  # v5/v6: arm_virt_compat_register_*_reg(vmc, ID)


MachineVersion = tuple[int, int]


class Level(NamedTuple):
    """What one ``virt_machine_X_Y_options()`` adds; every older machine type inherits it."""

    machine: MachineVersion
    sets: tuple[tuple[str, frozenset[int]], ...]  # property -> ids this level adds

    def ids(self, property_name: str) -> frozenset[int]:
        return dict(self.sets).get(property_name, frozenset())


class Posting(NamedTuple):
    name: str
    date: str
    version: str  # the branch's VERSION file: what `-version` and libvirt's header print
    latest: MachineVersion  # `-M virt` is this machine type
    style: CompatStyle
    levels: tuple[Level, ...]

    def has(self, machine: MachineVersion | None) -> bool:
        """Whether this posting knows the machine type (None: `-M virt`, always)."""
        return machine is None or machine <= self.latest

    def chain(self, machine: MachineVersion | None) -> tuple[Level, ...]:
        """The levels a machine type applies: its own and every newer one's."""
        wanted = self.latest if machine is None else machine
        return tuple(level for level in self.levels if level.machine >= wanted)

    def compat_ids(self, machine: MachineVersion | None, property_name: str) -> frozenset[int]:
        return frozenset(
            kvm_id for level in self.chain(machine) for kvm_id in level.ids(property_name)
        )

    def settings(self, machine: MachineVersion | None, property_name: str) -> int:
        """How many times the machine type's compat sets the property (2: QEMU aborts)."""
        setting = sum(1 for level in self.chain(machine) if level.ids(property_name))
        if self.style is CompatStyle.REGISTER_CALLS:
            return min(setting, 1)  # aggregated into one value
        return setting


def _level(machine: MachineVersion, **sets: Iterable[int]) -> Level:
    names = {"safe": SAFE_MISSING, "hidden": HIDDEN}
    return Level(machine, tuple((names[key], frozenset(ids)) for key, ids in sets.items()))


_KERNEL_10_1: Final = _level(
    (10, 1), safe=(TCR2_EL1, PIRE0_EL1, PIR_EL1), hidden=(VENDOR_HYP_BMAP_2,)
)
_DBGDTRTX_10_2: Final = _level((10, 2), safe=(DBGDTRTX,))

POSTINGS: Final[tuple[Posting, ...]] = (
    Posting("v2", "2025-11-18", "10.1.50", (10, 2), CompatStyle.GLOBAL_PROPERTY, (_KERNEL_10_1,)),
    Posting(
        "v3",
        "2025-11-25",
        "10.1.91",
        (10, 2),
        CompatStyle.GLOBAL_PROPERTY,
        (_DBGDTRTX_10_2, _KERNEL_10_1),
    ),
    Posting(
        "v4",
        "2025-12-22",
        "10.1.94",
        (10, 2),
        CompatStyle.GLOBAL_PROPERTY,
        (_DBGDTRTX_10_2, _KERNEL_10_1),
    ),
    Posting(
        "v5",
        "2026-01-21",
        "10.2.50",
        (11, 0),
        CompatStyle.REGISTER_CALLS,
        (_DBGDTRTX_10_2, _KERNEL_10_1),
    ),
    Posting(
        "v6",
        "2026-01-26",
        "10.2.50",
        (11, 0),
        CompatStyle.REGISTER_CALLS,
        (_DBGDTRTX_10_2, _KERNEL_10_1),
    ),
)

_MACHINE = LazyPattern(r"^virt(?:-(\d+)\.(\d+))?$")


def machine_version(machine: str | None) -> tuple[bool, MachineVersion | None]:
    """(known, version) of a machine type name: ``virt-10.2`` -> (True, (10, 2)); ``virt``
    (the build's latest) -> (True, None); anything else (unknown, a downstream name) ->
    (False, None)."""
    match = _MACHINE.match((machine or "").strip())
    if match is None:
        return False, None
    if match.group(1) is None:
        return True, None
    return True, (int(match.group(1)), int(match.group(2)))


def names(postings: Sequence[Posting]) -> str:
    """``v3/v4``, ``v5/v6``, ``v2-v6``: postings by name, runs joined."""
    if not postings:
        return "none"
    numbers = [int(posting.name[1:]) for posting in postings]
    if len(numbers) > 2 and numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"v{numbers[0]}-v{numbers[-1]}"
    return "/".join(posting.name for posting in postings)


def postings_for(
    machine: str | None,
    qemu_version: str | None = None,
    *,
    sets: Iterable[str] = (),
    style: CompatStyle | None = None,
) -> tuple[Posting, ...]:
    """The postings a build may carry, as far as the evidence tells: the machine type must
    exist there, the QEMU version (when known) must be the branch's, the compat style must be
    ``style`` (a refused value in v5/v6's aggregated form), and a property the log shows set
    twice must be set by that machine type's compat. Evidence no posting fits is not used."""
    known, version = machine_version(machine)
    found = [p for p in POSTINGS if not known or p.has(version)]
    if qemu_version:
        by_version = [p for p in found if qemu_version.strip().startswith(p.version)]
        found = by_version or found
    if style is not None:
        found = [p for p in found if p.style is style] or found
    wanted = tuple(sets)
    if known and wanted:
        setting = [p for p in found if all(p.settings(version, prop) for prop in wanted)]
        found = setting or found
    return tuple(found)


class MachineCompat(NamedTuple):
    """What a machine type's compat sets, over the postings the build may carry."""

    machine: str | None  # as given; None when unknown
    postings: tuple[Posting, ...]

    @property
    def version(self) -> MachineVersion | None:
        return machine_version(self.machine)[1]

    @property
    def known(self) -> bool:
        return machine_version(self.machine)[0] and bool(self.postings)

    def sets(self, property_name: str) -> bool | None:
        """True: every possible posting's compat sets it; False: none does; None: unknown."""
        if not self.known:
            return None
        answers = {bool(p.settings(self.version, property_name)) for p in self.postings}
        return answers.pop() if len(answers) == 1 else None

    def setters(self, property_name: str) -> tuple[Posting, ...]:
        if not self.known:
            return ()
        return tuple(p for p in self.postings if p.settings(self.version, property_name))

    def twice(self, property_name: str) -> tuple[Posting, ...]:
        """The postings whose compat sets the property more than once: QEMU aborts at start."""
        if not self.known:
            return ()
        return tuple(p for p in self.postings if p.settings(self.version, property_name) > 1)

    def ids(self, property_name: str, style: CompatStyle | None = None) -> frozenset[int]:
        """The ids the compat sets (over every possible posting, or those of one style)."""
        if not self.known:
            return frozenset()
        return frozenset(
            kvm_id
            for p in self.postings
            if style is None or p.style is style
            for kvm_id in p.compat_ids(self.version, property_name)
        )

    def options_function(self) -> str:
        version = self.version
        if version is None:
            latest = {p.latest for p in self.postings}
            if len(latest) != 1:
                return "your machine type's virt_machine_X_Y_options()"
            version = latest.pop()
        return f"virt_machine_{version[0]}_{version[1]}_options()"


def setting_machines(property_name: str, postings: Sequence[Posting] = POSTINGS) -> str:
    """Which machine types set a property, posting by posting: for sentences when the machine
    type is not known."""
    parts: dict[str, list[str]] = {}
    for posting in postings:
        levels = [level.machine for level in posting.levels if level.ids(property_name)]
        if not levels:
            continue
        newest = max(levels)
        where = (
            "every virt machine type"
            if newest == posting.latest
            else f"virt-{newest[0]}.{newest[1]} and older"
        )
        parts.setdefault(where, []).append(posting.name)
    return "; ".join(
        f"{names([p for p in postings if p.name in group])}: {where}"
        for where, group in parts.items()
    )
