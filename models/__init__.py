"""SQLModel tables, one module per domain. Importing this package registers every table
on `SQLModel.metadata` (Alembic and `create_all` rely on that)."""

from models import audit, org, pilot  # noqa: F401

__all__ = ["audit", "org", "pilot"]
