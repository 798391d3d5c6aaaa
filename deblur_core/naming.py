"""One small registry for every kind of named thing (architectures, restoration methods).

After BasicSR's registry: things are registered by name from the module that defines them, a name
registered twice is refused (two methods called ``wiener`` would make one of them unreachable), and
lookups of a missing name say what there is.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Generic, TypeVar

T = TypeVar("T")

__all__ = ["NamedRegistry"]


class NamedRegistry(Mapping[str, T], Generic[T]):
    """A read-only mapping from name to thing, filled with :meth:`register`, in registration order.

    Parameters
    ----------
    kind : str
        What is registered, for messages (``"architecture"``, ``"restoration method"``).

    Examples
    --------
    >>> colours = NamedRegistry("colour")
    >>> colours.register("red", (1, 0, 0))
    (1, 0, 0)
    >>> colours.register("red", (0.9, 0, 0))
    Traceback (most recent call last):
    ValueError: A colour called 'red' is already registered.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, item: T) -> T:
        """Add ``item`` under ``name`` and return it.

        Raises
        ------
        ValueError
            If ``name`` is empty or already registered.
        """
        if not isinstance(name, str) or not name:
            raise ValueError(f"A {self.kind} needs a name; got {name!r}.")
        if name in self._items:
            raise ValueError(f"A {self.kind} called '{name}' is already registered.")
        self._items[name] = item
        return item

    def unregister(self, name: str) -> T:
        """Remove and return the thing called ``name`` (a plug-in that is unloaded, a test's toy)."""
        if name not in self._items:
            raise KeyError(self._missing(name))
        return self._items.pop(name)

    def _missing(self, name: str) -> str:
        return f"There is no {self.kind} called '{name}'. Registered: {', '.join(self._items) or 'none'}."

    def __getitem__(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise KeyError(self._missing(name)) from None

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"NamedRegistry({self.kind!r}, {list(self._items)})"
