"""Typed domain errors: a stable code plus the values the reply needs."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal a user should read; `code` is stable, the sentence comes from locales/."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params

    def __repr__(self) -> str:
        return f"DomainError({self.code!r}, {self.params!r})"
