"""The Textual TUI of reginspect: widgets, screens and styles over the core model."""
