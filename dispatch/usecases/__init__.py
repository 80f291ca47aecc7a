"""Use cases: load -> decide in the core -> store -> publish."""
