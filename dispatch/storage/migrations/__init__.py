"""Alembic's environment and revisions of the database schema (see dispatch.storage.migrate)."""
