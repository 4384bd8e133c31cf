"""Translation of APSW (SQLite) exceptions into camvault errors that say what to do."""

from __future__ import annotations

import apsw

from camvault.errors import DatabaseBusyError, DatabaseError, DatabaseWriteError

__all__ = ["translate"]


def translate(exc: apsw.Error, action: str, path: str, *, write: bool) -> DatabaseError:
    """Return the camvault error for an engine error raised while doing ``action``."""
    where = f"{action} ({path})"
    kind: type[DatabaseError] = DatabaseWriteError if write else DatabaseError
    if isinstance(exc, apsw.FullError):
        msg = (
            f"{where} failed: the disk is full or the database size limit was reached; "
            "free space (or raise the limit) and retry, nothing of this write was kept"
        )
    elif isinstance(exc, apsw.ReadOnlyError):
        msg = (
            f"{where} failed: the database is read-only; make the file, its -wal/-shm "
            "files and its folder writable by this user"
        )
    elif isinstance(exc, apsw.PermissionsError | apsw.AuthError):
        msg = f"{where} failed: permission denied; check the file's and folder's permissions"
    elif isinstance(exc, apsw.CantOpenError):
        msg = (
            f"{where} failed: cannot open the database file; check that the path is a "
            "file (not a folder) and that its folder exists and is writable"
        )
    elif isinstance(exc, apsw.IOError):
        msg = f"{where} failed: disk I/O error; check the disk and the file system"
    elif isinstance(exc, apsw.BusyError | apsw.LockedError):
        msg = (
            f"{where} failed: another process held the database locked longer than the busy "
            "timeout; retry, or raise busy_timeout"
        )
        return DatabaseBusyError(msg) if write else DatabaseError(msg)
    elif isinstance(exc, apsw.NotADBError):
        kind = DatabaseError
        msg = f"{where} failed: the file is not a SQLite database; check the path"
    elif isinstance(exc, apsw.CorruptError):
        kind = DatabaseError
        msg = (
            f"{where} failed: the database file is damaged (SQLite: {exc}); stop writing to "
            f"it, then run 'camvault recover {path} NEW.db' to save every readable event into "
            "a new store (the damaged file is left as it is), or restore a backup"
        )
    else:
        msg = (
            f"{where} failed: {type(exc).__name__}: {exc}; if it persists, run "
            "'camvault info' and report the message"
        )
    return kind(msg)
