"""SQLModel tables, one module per domain. Importing this package registers every table
on `SQLModel.metadata` (Alembic and the tests rely on that)."""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
