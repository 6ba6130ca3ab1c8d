"""Sans-I/O parsers: bytes and text in, typed values out. Standard library only; total."""
