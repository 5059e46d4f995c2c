"""Connections to the central store, every wait bounded.

A connection names its schema (``search_path``) so one database can hold several stores (and every
test its own). Timeouts: ``connect_timeout`` for the handshake, ``statement_timeout`` and
``lock_timeout`` for each statement on the server, TCP keepalives and ``tcp_user_timeout`` for a
peer that vanished without closing the connection (otherwise a read on a dead link waits for ever).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import psycopg
from psycopg import sql

from ...core.errors import PoortwachterError
from .options import DEFAULT_SCHEMA

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class StoreError(PoortwachterError, OSError):
    """The central store refused or could not be reached; the message says which and why."""


@dataclass(frozen=True)
class Target:
    """Where the store lives: a libpq DSN (``postgresql://user@host/db`` or ``host=… dbname=…``) and a schema."""

    dsn: str
    schema: str = DEFAULT_SCHEMA
    connect_timeout: float = 5.0
    statement_timeout: float = 30.0

    def __post_init__(self) -> None:
        if not _SCHEMA_NAME.fullmatch(self.schema):
            raise ValueError(f"schema {self.schema!r}: lower-case letters, digits and _ only (at most 63)")
        if not self.dsn.strip():
            raise ValueError("an empty DSN: give the PostgreSQL connection string")
        if not (self.connect_timeout > 0 and self.statement_timeout > 0):
            raise ValueError("connect_timeout and statement_timeout must be more than 0 seconds")


def connect(target: Target, *, autocommit: bool = False) -> psycopg.Connection[tuple[object, ...]]:
    """A connection with the target's schema first on the search path and every wait bounded."""
    timeout_ms = int(target.statement_timeout * 1000)
    try:
        conn = psycopg.connect(
            target.dsn, autocommit=autocommit, connect_timeout=max(1, round(target.connect_timeout)),
            keepalives=1, keepalives_idle=5, keepalives_interval=2, keepalives_count=3,
            tcp_user_timeout=timeout_ms, application_name="poortwachter-log")
    except psycopg.Error as exc:
        raise StoreError(f"cannot connect to the decision log store: {_first_line(exc)}") from None
    try:
        with conn.cursor() as cur:
            cur.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(target.schema)))
            cur.execute(sql.SQL("SET statement_timeout = {}").format(sql.Literal(timeout_ms)))
            cur.execute(sql.SQL("SET lock_timeout = {}").format(sql.Literal(timeout_ms)))
            cur.execute("SET TIME ZONE 'UTC'")
        if not autocommit:
            conn.commit()
    except psycopg.Error as exc:
        conn.close()
        raise StoreError(f"decision log store: {_first_line(exc)}") from None
    return conn


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
