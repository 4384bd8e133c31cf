"""Translation of psycopg (PostgreSQL) exceptions into camvault errors that say what to do."""

from __future__ import annotations

import psycopg
from psycopg import errors as pg
from psycopg_pool import PoolTimeout

from camvault.errors import DatabaseBusyError, DatabaseError, DatabaseWriteError

__all__ = ["translate"]


def translate(
    exc: psycopg.Error | PoolTimeout, action: str, location: str, *, write: bool
) -> DatabaseError:
    """Return the camvault error for a driver error raised while doing ``action``."""
    where = f"{action} ({location})"
    kind: type[DatabaseError] = DatabaseWriteError if write else DatabaseError
    kept = " nothing of this write was kept;" if write else ""
    if isinstance(exc, PoolTimeout):
        msg = (
            f"{where} failed: no connection to the server came free in time (the server is "
            f"down or unreachable, or every pooled connection is busy);{kept} check the server, "
            "or raise ?pool_size= in the URL"
        )
    elif isinstance(exc, pg.LockNotAvailable):
        msg = (
            f"{where} failed: another session held a lock longer than lock_timeout;{kept} retry, "
            "or raise ?lock_timeout= (seconds) in the URL"
        )
        return DatabaseBusyError(msg) if write else DatabaseError(msg)
    elif isinstance(exc, pg.DeadlockDetected | pg.SerializationFailure):
        msg = f"{where} failed: the server aborted a conflicting transaction;{kept} retry"
        return DatabaseBusyError(msg) if write else DatabaseError(msg)
    elif isinstance(exc, pg.QueryCanceled):
        msg = (
            f"{where} failed: the statement ran longer than statement_timeout and was "
            f"cancelled;{kept} narrow the query, or raise ?statement_timeout= (seconds) in the URL"
        )
    elif isinstance(exc, pg.ReadOnlySqlTransaction):
        msg = (
            f"{where} failed: the database only allows reads here (a read replica, or "
            f"default_transaction_read_only);{kept} point writers at the primary server"
        )
    elif isinstance(exc, pg.DiskFull | pg.OutOfMemory):
        msg = f"{where} failed: the server is out of disk or memory;{kept} free space and retry"
    elif isinstance(exc, pg.InsufficientPrivilege):
        msg = (
            f"{where} failed: permission denied ({exc.diag.message_primary}); grant this user "
            "rights on camvault's schema"
        )
    elif isinstance(exc, psycopg.OperationalError):
        msg = (
            f"{where} failed: the connection to the server was lost;{kept} the pool reconnects "
            "by itself once the server is back: retry"
        )
    else:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        msg = (
            f"{where} failed: {type(exc).__name__}: {first}; if it persists, run "
            "'camvault info' and report the message"
        )
    return kind(msg)
