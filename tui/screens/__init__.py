"""Screens of the reginspect TUI."""
