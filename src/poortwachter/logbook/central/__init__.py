"""The central store of the decision log: PostgreSQL (issue 12).

The local journal (logbook/writer.py) stays the lossless buffer and the default; this package copies
it to PostgreSQL and answers from there.

- options.py  the command-line options and defaults (no driver: every command's parser is built without psycopg)
- db.py       connections with every wait bounded; the store's schema name
- schema.py   versioned migrations, yearly partitions, retention by dropping partitions
- journal.py  the journal as the shipper reads it: segments, complete lines, positions
- batch.py    a batch of journal lines as rows, and its transaction (records and position together)
- ship.py     the shipper: batched, idempotent, position in the store, backoff, back-pressure status
- metrics.py  the shipping metrics (Prometheus)
- store.py    queries against the store (the parent's question, history, log control)
- verify.py   the store rebuilt as journal files and checked like them, plus the rows
- cli.py      ``poortwachter log migrate | ship | retention`` and ``log --dsn``
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .db import StoreError, Target
    from .ship import Shipper, ShipperConfig, ShipStatus

__all__ = ["ShipStatus", "Shipper", "ShipperConfig", "StoreError", "Target"]
_HOME = {"StoreError": "db", "Target": "db", "Shipper": "ship", "ShipperConfig": "ship", "ShipStatus": "ship"}


def __getattr__(name: str) -> Any:
    """The package's names, imported on first use: importing ``options`` must not import the driver."""
    if name in _HOME:
        return getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
