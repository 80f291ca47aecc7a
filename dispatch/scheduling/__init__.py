"""Carrying out published plans on time."""
