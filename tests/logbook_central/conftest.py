"""A real PostgreSQL for the central-store tests: 127.0.0.1:5432 (trust, user postgres, db test).

Each test gets its own schema (a unique name: safe under xdist), dropped afterwards. Without a server
the tests skip with the reason, except under CI=true, where a missing server is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
import support

from poortwachter.logbook.central import schema
from poortwachter.logbook.central.db import Target, connect

DSN = os.environ.get("POORTWACHTER_TEST_PG", "host=127.0.0.1 port=5432 user=postgres dbname=test")


def _server() -> str | None:
    """None when the server answers, else why not."""
    try:
        with psycopg.connect(DSN, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    why = _server()
    support.require(why is None, f"a PostgreSQL server at {DSN} ({why})", why="test the central decision-log store",
                    install="apt-get install -y postgresql, trust auth for 127.0.0.1 (.ci/run starts one)")
    return DSN


@pytest.fixture
def pg_schema(pg_dsn: str) -> Iterator[str]:
    """A fresh, unique schema name, dropped (with everything in it) after the test."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    yield name
    with psycopg.connect(pg_dsn, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")  # name is ours: hex only


@pytest.fixture
def store(pg_dsn: str, pg_schema: str) -> Target:
    """A migrated store in its own schema."""
    target = Target(pg_dsn, pg_schema)
    with connect(target) as conn:
        schema.migrate(conn, pg_schema)
    return target


from faults.conftest import svc_bundles  # noqa: E402, F401 - the signed svc-jgz bundles the real-server tests serve
