"""Allowed state changes: each model keeps its table of moves beside it (storage/models.py).

A move to the state a row already has is no move and always allowed; any other move missing
from the table raises `IllegalMove` before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Generic, Protocol, TypeVar

S = TypeVar("S", bound=StrEnum)


class IllegalMove(Exception):
    """A state change the model's table of moves does not allow."""

    def __init__(self, what: str, old: str, new: str) -> None:
        super().__init__(f"{what}: {old} → {new} is not an allowed move")
        self.what, self.old, self.new = what, old, new


@dataclass(frozen=True)
class Moves(Generic[S]):
    """Which states each state may move to, and the column that holds the state."""

    column: str
    allowed: Mapping[S, frozenset[S]]

    def check(self, what: str, old: S, new: S) -> None:
        """Raise IllegalMove unless a row in `old` may move to `new`."""
        if old != new and new not in self.allowed.get(old, frozenset()):
            raise IllegalMove(what, old, new)

    def check_all(self, what: str, olds: Iterable[S], new: S) -> None:
        for old in olds:
            self.check(what, old, new)


def moves(column: str, table: Mapping[S, Iterable[S]]) -> Moves[S]:
    """A table of moves: {state: the states it may move to}."""
    return Moves(column, {old: frozenset(news) for old, news in table.items()})


class Stateful(Protocol):
    MOVES: ClassVar[Moves[Any]]


def move(row: Stateful, new: StrEnum) -> None:
    """Set a loaded row's state to `new`; IllegalMove unless its model allows the move."""
    table = type(row).MOVES
    table.check(type(row).__name__, getattr(row, table.column), new)
    setattr(row, table.column, new)


def check(model: type[Stateful], olds: Iterable[StrEnum], new: StrEnum) -> None:
    """For a conditional UPDATE: every state it moves from must be allowed to move to `new`."""
    model.MOVES.check_all(model.__name__, olds, new)
