"""Pure logic: no I/O, no event loop. Tested by the thousand."""
