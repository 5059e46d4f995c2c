"""The central store of the decision log: PostgreSQL (issue 12).

The local journal (logbook/writer.py) stays the lossless buffer and the default; this package copies
it to PostgreSQL and answers from there.

- db.py       connections with every wait bounded; the store's schema name
- schema.py   versioned migrations, yearly partitions, retention by dropping partitions
- journal.py  the journal as the shipper reads it: segments, complete lines, positions
- ship.py     the shipper: batched, idempotent, position in the store, backoff, back-pressure status
- metrics.py  the shipping metrics (Prometheus)
- store.py    queries and chain verification against the store
- cli.py      ``poortwachter log migrate | ship | retention`` and ``log --dsn``
"""

from .db import StoreError, Target
from .ship import Shipper, ShipperConfig, ShipStatus

__all__ = ["ShipStatus", "Shipper", "ShipperConfig", "StoreError", "Target"]
