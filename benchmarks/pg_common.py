"""PostgreSQL plumbing of the benchmark: the server's URL, fresh schemas, month partitions.

Every run works in schemas of its own (``cvbench_<pid>_<random>_<tag>``), created for it and
dropped with everything in them when it ends, so a run never sees another's rows.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from benchmarks.baseline import EPOCH, MICRO

ENV_VARS = ("CAMVAULT_BENCH_POSTGRES_URL", "CAMVAULT_TEST_POSTGRES_URL")
"""Where the server's URL is read from, first found wins."""
DROP_LOCK_TIMEOUT = "30s"
"""A schema still locked by a connection left open is not waited on for longer than this."""
PARTITIONED = ("events", "detections")
"""camvault's tables partitioned by month of ts."""


def server_url() -> tuple[str | None, str]:
    """Return the PostgreSQL URL to benchmark on (or None) and where it came from."""
    for name in ENV_VARS:
        value = os.environ.get(name, "").strip()
        if value:
            return value, name
    return None, f"neither {' nor '.join(ENV_VARS)} is set"


def _query(url: str) -> tuple[tuple[str, str, str, str, str], list[tuple[str, str]]]:
    parts = urlsplit(url)
    return (parts.scheme, parts.netloc, parts.path, parts.query, parts.fragment), parse_qsl(
        parts.query
    )


def with_schema(url: str, schema: str) -> str:
    """Return ``url`` with camvault's ``schema=`` option set to ``schema``."""
    (scheme, netloc, path, _, fragment), query = _query(url)
    query = [(k, v) for k, v in query if k != "schema"] + [("schema", schema)]
    return urlunsplit((scheme, netloc, path, urlencode(query), fragment))


def libpq_url(url: str) -> str:
    """Return ``url`` without camvault's own options, for psycopg and SQLAlchemy."""
    (scheme, netloc, path, _, fragment), query = _query(url)
    query = [(k, v) for k, v in query if k != "schema"]
    return urlunsplit((scheme, netloc, path, urlencode(query), fragment))


def connect(url: str, schema: str | None = None, *, autocommit: bool = True) -> psycopg.Connection:
    """Open a psycopg connection whose search_path is ``schema`` (when given)."""
    conn = psycopg.connect(libpq_url(url), autocommit=autocommit)
    if schema is not None:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        if not autocommit:
            conn.commit()
    return conn


def server_version(url: str) -> str:
    """Return the server's version string (raises when the server cannot be reached)."""
    with connect(url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


def new_name(tag: str) -> str:
    """Return a schema name no other run uses."""
    return f"cvbench_{os.getpid()}_{secrets.token_hex(3)}_{tag}"


def drop_schema(url: str, schema: str) -> None:
    """Drop a schema and everything in it."""
    with connect(url) as conn:
        conn.execute(sql.SQL("SET lock_timeout = {}").format(sql.Literal(DROP_LOCK_TIMEOUT)))
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@contextlib.contextmanager
def fresh_schema(url: str, tag: str, *, create: bool = True) -> Iterator[str]:
    """Yield the name of a new schema (created unless camvault is to create it), then drop it."""
    name = new_name(tag)
    try:
        if create:
            with connect(url) as conn:
                conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
        yield name
    finally:
        drop_schema(url, name)


def month_start(t: datetime) -> datetime:
    """Return the first instant (UTC) of ``t``'s month."""
    t = t.astimezone(UTC)
    return datetime(t.year, t.month, 1, tzinfo=UTC)


def next_month(t: datetime) -> datetime:
    """Return the first instant of the month after ``t``'s."""
    start = month_start(t)
    if start.month == 12:
        return start.replace(year=start.year + 1, month=1)
    return start.replace(month=start.month + 1)


def months(times: Iterable[datetime]) -> list[datetime]:
    """Return the distinct month starts of ``times``, oldest first."""
    return sorted({month_start(t) for t in times})


def us(t: datetime) -> int:
    """Return ``t`` as camvault stores it: microseconds since the Unix epoch."""
    return (t - EPOCH) // MICRO


def ensure_partitions(conn: psycopg.Connection, starts: Iterable[datetime]) -> list[str]:
    """Create the month partitions of events and detections that do not exist yet.

    A month some existing partition already covers (camvault's own, whatever its name) is
    left alone; returns the partitions created.
    """
    created: list[str] = []
    for start in starts:
        low, high = us(start), us(next_month(start))
        for table in PARTITIONED:
            name = f"{table}_p{start:%Y_%m}"  # camvault's own name and DDL
            ddl = sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} PARTITION OF {} FOR VALUES FROM ({}) TO ({})"
            ).format(
                sql.Identifier(name), sql.Identifier(table), sql.Literal(low), sql.Literal(high)
            )
            try:
                with conn.transaction():
                    conn.execute(ddl)
            except (psycopg.errors.InvalidObjectDefinition, psycopg.errors.DuplicateTable):
                continue  # that month is covered already
            created.append(name)
    return created
