"""The supervisor console: its API (and, later, its pages). Supervisors only."""
