"""The widgets of the reginspect TUI, one per module; their looks are in tui/widgets.tcss."""
