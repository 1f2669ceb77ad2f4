"""``Record``: the base of the store's records (``tracking/models.py``) and of the few other
values every store command creates: a frozen dataclass made by hand.

Why not ``@dataclass(frozen=True)``: creating one costs ~1.5 ms (it compiles six methods) and
importing ``dataclasses`` imports ``inspect`` (~12 ms); every store command creates the dozen
records, which was a third of ``mlrun experiments search``. A record behaves as the frozen
dataclass did: compared, hashed, shown and pickled by its fields in order, immutable
(``dataclasses.FrozenInstanceError``), and ``dataclasses.fields``, ``asdict``, ``replace`` and
``is_dataclass`` accept it (its ``__dataclass_fields__`` are made, with ``dataclasses``, when
first asked for). A subclass declares its fields as annotations, with defaults, as for a
dataclass (type checkers read it as one: ``dataclass_transform``); they become its
``__slots__``, in order. The constructor made for it binds arguments in Python; the store's
hot records (``models.py``) write their own ``__init__``, 2-3x faster, with ``_fill``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from collections.abc import Callable
    from dataclasses import Field

    from typing_extensions import dataclass_transform
else:

    def dataclass_transform(**_: object) -> Callable[[type], type]:
        return lambda cls: cls


set_field = object.__setattr__  # how an __init__ sets a field of its (frozen) record
_MADE: dict[type, dict[str, Field[Any]]] = {}


class _DataclassFields:
    """``Record.__dataclass_fields__``: those of a frozen dataclass with the record's field
    names, made on first use (only ``dataclasses`` functions ask for them)."""

    def __get__(self, record: object, owner: type[Record]) -> dict[str, Field[Any]]:
        made = _MADE.get(owner)
        if made is None:
            from dataclasses import fields, make_dataclass

            twin = make_dataclass(owner.__name__, owner.__slots__, frozen=True)
            made = _MADE[owner] = {field.name: field for field in fields(twin)}
        return made


@dataclass_transform(eq_default=True, frozen_default=True)
class _RecordType(type):
    """Makes a record class's annotations its ``__slots__`` (its fields, in order) and their
    values its ``_defaults``."""

    def __new__(cls, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> _RecordType:
        if "__slots__" not in namespace:
            if any(
                getattr(base, "__slots__", ()) for base in bases if isinstance(base, _RecordType)
            ):
                raise TypeError(f"record {name}: a record extends no other record with fields")
            if "__annotations__" not in namespace and "__annotate__" in namespace:
                raise TypeError(f"record {name}: needs `from __future__ import annotations`")
            fields = tuple(namespace.get("__annotations__", ()))
            namespace["_defaults"] = {f: namespace.pop(f) for f in fields if f in namespace}
            namespace["__slots__"] = fields
        made: Any = super().__new__(cls, name, bases, namespace)
        # The slots' own setters, in field order: ``_fill`` calls them directly, ~2x faster
        # than object.__setattr__ (a page of 1,000 runs fills ~7,000 records).
        made._setters = tuple(vars(made)[field].__set__ for field in namespace.get("__slots__", ()))
        return made  # type: ignore[no-any-return]


class Record(metaclass=_RecordType):
    """Fields in ``__slots__`` order; frozen; equal when of the same class with equal fields."""

    __slots__: ClassVar[tuple[str, ...]] = ()
    __dataclass_fields__: ClassVar[dict[str, Field[Any]]] = _DataclassFields()  # type: ignore[assignment]
    _defaults: ClassVar[dict[str, Any]] = {}
    _setters: ClassVar[tuple[Callable[[Any, Any], None], ...]] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        names = self.__slots__
        if len(args) > len(names):
            raise TypeError(f"{self.__class__.__name__}() takes {len(names)} arguments")
        for index, name in enumerate(names):
            if index < len(args):
                if name in kwargs:
                    raise TypeError(f"{self.__class__.__name__}() got two values for {name!r}")
                set_field(self, name, args[index])
            elif name in kwargs:
                set_field(self, name, kwargs[name])
            elif name in self._defaults:
                set_field(self, name, self._defaults[name])
            else:
                raise TypeError(f"{self.__class__.__name__}() missing argument {name!r}")
        unknown = kwargs.keys() - set(names)
        if unknown:
            raise TypeError(f"{self.__class__.__name__}() got no argument {min(unknown)!r}")

    def _fill(self, *values: Any) -> None:
        """Set the fields, in order (what ``__init__`` does)."""
        for setter, value in zip(self._setters, values, strict=True):
            setter(self, value)

    def _values(self) -> tuple[Any, ...]:
        return tuple([getattr(self, name) for name in self.__slots__])

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{self.__class__.__qualname__}({shown})"

    def __setattr__(self, name: str, value: object) -> None:
        from dataclasses import FrozenInstanceError

        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        from dataclasses import FrozenInstanceError

        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[type[Record], tuple[Any, ...]]:
        # Pickle and copy by the constructor (the default would set the slots one by one).
        return (self.__class__, self._values())
