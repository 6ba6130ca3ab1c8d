"""reginspect: name the CPU registers that break Arm live migration, and suggest the fix."""

__version__ = "0.1.0"
