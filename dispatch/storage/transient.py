"""Table rows built for Core statements and events, without the ORM's per-attribute work.

`Alert(...)` on a SQLModel table class sets each of its ~30 attributes through
SQLAlchemy's instrumentation (an event and a history entry per attribute): 70-150 us a
row here, and several times that with 5,000 phones connected. A raise builds its alert
and its offers only to insert them with Core statements and to describe them in events;
`build` makes the same object (the same values, defaults and instance state, so it can
still be added to a session later) in about a tenth of the time.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic.fields import FieldInfo
from sqlmodel import SQLModel

M = TypeVar("M", bound=SQLModel)


class _Shape:
    """What `build` needs of a table class, worked out once."""

    __slots__ = ("defaults", "manager", "names")

    def __init__(self, cls: type[SQLModel]) -> None:
        fields: dict[str, FieldInfo] = cls.model_fields
        self.names = frozenset(fields)
        self.defaults = [(n, f) for n, f in fields.items() if not f.is_required()]
        self.manager: Any = getattr(cls, "_sa_class_manager", None)
        if self.manager is None:
            raise TypeError(f"{cls.__name__} is not a table class")
        # What the constructor does and `build` does not: refused rather than skipped.
        if any(f.alias for f in fields.values()) or cls.__private_attributes__:
            raise TypeError(f"{cls.__name__}: aliases or private attributes: use the class")
        # SQLAlchemy's own init listener configures the mappers and sets a polymorphic
        # identity: done here once, or refused; any other listener is refused.
        mapper = self.manager.mapper
        mapper._check_configure()
        others = [f for f in self.manager.dispatch.init if f.__name__ != "_event_on_init"]
        if cls.__pydantic_post_init__ or others or mapper._set_polymorphic_identity:
            raise TypeError(f"{cls.__name__}: init hooks: use the class")


_shapes: dict[type[SQLModel], _Shape] = {}


def build(cls: type[M], /, **values: Any) -> M:
    """A new (transient) row of table class `cls`, as `cls(**values)` makes it. Values
    are taken as given and a field left out without a default stays unset, as there (a
    table class validates nothing); a name that is not a field is a TypeError (the
    constructor would drop it)."""
    shape = _shapes.get(cls)
    if shape is None:
        shape = _shapes[cls] = _Shape(cls)
    given = values.keys()
    if not shape.names.issuperset(given):
        raise TypeError(f"{cls.__name__}: no field {sorted(given - shape.names)}")
    obj: M = shape.manager.new_instance()  # its instance state, no __init__
    row = obj.__dict__
    for name, field in shape.defaults:
        if name not in values:
            row[name] = field.get_default(call_default_factory=True)
    row.update(values)
    object.__setattr__(obj, "__pydantic_fields_set__", set(given))
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj
