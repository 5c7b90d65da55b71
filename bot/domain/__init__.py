"""Pure incident rules: no I/O, no chat SDK, no database."""
