"""Errors services raise; pages translate `key` with `params` into a friendly message."""

from __future__ import annotations


class PortalError(Exception):
    """Base: a message key for the i18n catalogue plus its parameters."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params

    def __str__(self) -> str:  # readable in logs and CLI output without a catalogue
        if not self.params:
            return self.key
        return f"{self.key} {self.params}"


class PermissionDenied(PortalError):
    """The actor's role or branch scope does not allow this call.

    `audit` carries what to record; the transaction runner writes it after rolling back.
    """

    def __init__(self, key: str = "err.permission", *, action: str = "", entity: str = "",
                 entity_id: object = None, **params: object) -> None:
        super().__init__(key, **params)
        self.action = action
        self.entity = entity
        self.entity_id = entity_id


class ValidationFailed(PortalError):
    """Input was refused; nothing was saved."""


class NotFound(PortalError):
    pass


class Conflict(PortalError):
    """Someone else changed the data first (stale version, duplicate submit...)."""


class AuthFailed(PortalError):
    pass


class StorageError(PortalError):
    """The database cannot be written (read-only file or disk, disk full): nothing was saved."""
