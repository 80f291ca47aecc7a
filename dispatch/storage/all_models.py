"""Every module that defines tables, in one list: the migrations compare against it.

A new module with `table=True` models goes in `MODULES`, so that `dispatch db revision`
sees its tables and the test that the models match the migrations checks them.
"""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData
from sqlmodel import SQLModel

MODULES = (
    "dispatch.storage.models",
    "dispatch.audit.models",
    "dispatch.public_reports.models",
)


def metadata() -> MetaData:
    """The metadata of every table the code defines (their modules imported)."""
    for name in MODULES:
        importlib.import_module(name)
    return SQLModel.metadata
