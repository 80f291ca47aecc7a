"""Randomised, risk-weighted operation planning: pure code, no I/O."""
