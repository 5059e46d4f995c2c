"""Migrations (versioned, idempotent, never edited), month partitions, retention by dropping partitions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from poortwachter.logbook.central import schema
from poortwachter.logbook.central.db import StoreError, Target, connect


def test_migrate_is_idempotent_and_records_each_version(pg_dsn: str, pg_schema: str) -> None:
    target = Target(pg_dsn, pg_schema)
    with connect(target) as conn:
        first = schema.migrate(conn, pg_schema, now=datetime(2026, 12, 3, tzinfo=UTC))
        again = schema.migrate(conn, pg_schema, now=datetime(2026, 12, 3, tzinfo=UTC))
        assert first[0].startswith("applied migration 1")
        assert "created partition decisions_y2026" in first and "created partition decisions_y2027" in first
        assert again == []
        assert set(schema.applied(conn)) == {m.version for m in schema.MIGRATIONS}
        assert sorted(schema.existing_partitions(conn).values()) == ["decisions_y2026", "decisions_y2027"]


def test_an_edited_applied_migration_stops_migrate(store: Target) -> None:
    with connect(store) as conn:
        conn.execute("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1")
        conn.commit()
        with pytest.raises(StoreError, match="never edited"):
            schema.migrate(conn, store.schema)


def test_a_store_newer_than_the_program_is_refused(store: Target) -> None:
    with connect(store) as conn:
        conn.execute("INSERT INTO schema_migrations (version, name, checksum) VALUES (999, 'future', 'x')")
        conn.commit()
        with pytest.raises(StoreError, match="upgrade Poortwachter"):
            schema.migrate(conn, store.schema)


def test_queries_and_shipping_need_a_migrated_store(pg_dsn: str, pg_schema: str) -> None:
    with connect(Target(pg_dsn, pg_schema)) as conn, pytest.raises(StoreError, match="log migrate"):
        schema.check_current(conn)


@pytest.mark.parametrize("years", [0, 1, 4])
def test_retention_below_the_legal_five_years_is_refused(store: Target, years: int) -> None:
    with connect(store) as conn, pytest.raises(ValueError, match="at least 5 years"):
        schema.retention(conn, store.schema, years)


def test_retention_drops_only_whole_years_older_than_the_period(store: Target) -> None:
    now = datetime(2036, 12, 15, tzinfo=UTC)
    with connect(store) as conn:
        schema.ensure_partitions(conn, store.schema, [datetime(year, 6, 1).date() for year in (2024, 2025, 2026)])
        conn.execute("INSERT INTO segments (segment_id, file, lines, records, first_time, last_time) VALUES "
                     "('s', 'f', 3, 2, '2025-12-31T23:59:59Z', '2026-12-15T00:00:00Z')")
        conn.execute("INSERT INTO decisions (time, decision_id, segment_id, line_no, raw) VALUES "
                     "('2025-12-31T23:59:59Z', 'old', 's', 2, '{}'), ('2026-12-15T00:00:00Z', 'kept', 's', 3, '{}')")
        conn.commit()
        dry = schema.retention(conn, store.schema, 10, now=now, dry_run=True)
        assert [d.split()[3] for d in dry] == ["decisions_y2024", "decisions_y2025"]
        assert "decisions_y2024" in schema.existing_partitions(conn).values()
        done = schema.retention(conn, store.schema, 10, now=now)
        left = set(schema.existing_partitions(conn).values())
        assert {"decisions_y2024", "decisions_y2025"}.isdisjoint(left) and "decisions_y2026" in left
        assert [r[0] for r in conn.execute("SELECT decision_id FROM decisions")] == ["kept"]
        assert len(done) == 2
        segment = conn.execute("SELECT records, first_time FROM segments WHERE segment_id = 's'").fetchone()
        assert segment == (1, datetime(2026, 12, 15, tzinfo=UTC))  # counts follow what is left


def test_an_older_store_gets_only_the_missing_migrations(store: Target) -> None:
    with connect(store) as conn:
        conn.execute("DROP TABLE retention_runs, retention_removed")
        conn.execute("DELETE FROM schema_migrations WHERE version = 2")
        conn.commit()
        done = schema.migrate(conn, store.schema)
        assert [d for d in done if d.startswith("applied")] == ["applied migration 2: what retention removed"]
        assert conn.execute("SELECT count(*) FROM retention_runs").fetchone() == (0,)
