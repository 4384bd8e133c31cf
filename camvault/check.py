"""``camvault check``: is the store whole? Pages, counts, detections, text, zones, thumbnails.

Every check reads one snapshot of the store (:meth:`Backend.read_snapshot`), so writers keep
writing and a check never reports a half-written commit as damage. The quick check asks the
engine to check its own pages; the full one also recounts what camvault derives from the
events and compares: the hourly counts behind histograms, the detection rows behind label
filters, the full-text index, the zone index, the cameras registry, and the thumbnails on
disk (a thumbnail whose file is gone, a file no event owns).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from camvault import thumbnails
from camvault.backends.base import SqlRun
from camvault.errors import DatabaseError
from camvault.rows import from_micros
from camvault.store import EventStore

__all__ = ["CheckReport", "Finding", "check_store"]

LISTED = 5
"""Examples quoted per problem."""
_HOUR = 3_600_000_000

_RECOUNT = """
WITH recount (dim, hour, camera_id, key, n) AS (
    SELECT 'event', ts - ((ts {mod} {hour}) + {hour}) {mod} {hour}, camera_id, '', count(*)
    FROM events e WHERE {counted} GROUP BY 2, 3
    UNION ALL
    SELECT 'label', e.ts - ((e.ts {mod} {hour}) + {hour}) {mod} {hour}, e.camera_id, d.label,
           count(DISTINCT e.id)
    FROM events e JOIN detections d ON d.event_rowid = e.id AND d.ts = e.ts
    WHERE {counted} GROUP BY 2, 3, 4
    UNION ALL
    SELECT 'person', ts - ((ts {mod} {hour}) + {hour}) {mod} {hour}, camera_id, person_name,
           count(*)
    FROM events e WHERE person_name IS NOT NULL AND {counted} GROUP BY 2, 3, 4
)
SELECT coalesce(r.dim, c.dim), coalesce(r.hour, c.hour), coalesce(r.camera_id, c.camera_id),
       coalesce(r.key, c.key), coalesce(r.n, 0), coalesce(c.n, 0)
FROM rollup_hourly r FULL JOIN recount c
  ON r.dim = c.dim AND r.hour = c.hour AND r.camera_id = c.camera_id AND r.key = c.key
WHERE coalesce(r.n, 0) <> coalesce(c.n, 0)
ORDER BY 2
"""

_ALL_CAMERAS = """
SELECT coalesce(a.dim, h.dim), coalesce(a.hour, h.hour), coalesce(a.key, h.key),
       coalesce(a.n, 0), coalesce(h.n, 0)
FROM rollup_all a FULL JOIN (
    SELECT dim, hour, key, sum(n) AS n FROM rollup_hourly GROUP BY dim, hour, key
) h ON a.dim = h.dim AND a.hour = h.hour AND a.key = h.key
WHERE coalesce(a.n, 0) <> coalesce(h.n, 0)
ORDER BY 2
"""
"""Hourly counts over all cameras that differ from the sum of the cameras' counts."""


def _per_event(column: str, table: str) -> str:
    """Events whose JSON array ``column`` has another length than their rows in ``table``."""
    return f"""
SELECT e.event_id, json_array_length(e.{column}), coalesce(t.n, 0)
FROM events e
LEFT JOIN (SELECT event_rowid, count(*) AS n FROM {table} GROUP BY event_rowid) t
  ON t.event_rowid = e.id
WHERE json_array_length(e.{column}) <> coalesce(t.n, 0)
ORDER BY e.event_id
"""


_DETECTIONS = _per_event("detected_objects", "detections")

_ORPHAN_DETECTIONS = """
SELECT count(*) FROM detections d
WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = d.event_rowid)
"""

_CAMERAS = """
SELECT DISTINCT camera_id FROM events
WHERE camera_id NOT IN (SELECT camera_id FROM cameras) ORDER BY 1
"""

_SQLITE_TEXT = (
    (
        "an index entry of an event that is gone or has no description",
        """SELECT count(*) FROM text_keys k LEFT JOIN events e ON e.id = k.event_rowid
           WHERE e.id IS NULL OR e.llm_description IS NULL""",
    ),
    (
        "a described event missing from the index",
        """SELECT count(*) FROM events
           WHERE llm_description IS NOT NULL
             AND id <= (SELECT indexed FROM positions)
             AND id NOT IN (SELECT rowid FROM fts_pending)
             AND id NOT IN (SELECT event_rowid FROM text_keys)""",
    ),
)

_SQLITE_ZONES = _per_event("zones", "event_zones")


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem a check found: which check, and what is wrong (with a few examples)."""

    check: str
    problem: str


@dataclass
class CheckReport:
    """What was checked, what passed, what was skipped (and why), and what is wrong."""

    engine: str
    full: bool
    events: int = 0
    passed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no check found a problem."""
        return not self.findings


class _Checks:
    """The checks of one run over one snapshot."""

    def __init__(self, store: EventStore, run: SqlRun, report: CheckReport) -> None:
        self.store = store
        self.run = run
        self.report = report
        self.sqlite = report.engine == "sqlite"

    def rows(self, query: str) -> list[Any]:
        """Run one check query; return its rows."""
        return self.run(query, ())[1]

    def one(self, query: str) -> Any:
        """Run one check query; return its single value."""
        return self.rows(query)[0][0]

    def result(self, name: str, problems: list[str]) -> None:
        """Record a check's outcome."""
        if problems:
            self.report.findings += [Finding(name, p) for p in problems]
        else:
            self.report.passed.append(name)

    def pages(self, full: bool) -> None:
        """Ask SQLite to check every page (quick_check, or integrity_check when full)."""
        if not self.sqlite:
            self.report.skipped.append(
                ("database pages", "PostgreSQL checks its own pages (for more, see amcheck)")
            )
            return
        pragma = "integrity_check" if full else "quick_check"
        lines = [str(r[0]) for r in self.rows(f"PRAGMA {pragma}")]
        self.result("database pages", [] if lines == ["ok"] else lines[:LISTED])

    def counts(self) -> None:
        """Recount the hourly counts behind histograms and compare cell by cell."""
        # the modulo operator; PostgreSQL's driver reads a lone % as a placeholder
        mod = "%" if self.sqlite else "%%"
        # SQLite counts events above positions.rolled later (schema v7): they are not due yet
        counted = "e.id <= (SELECT rolled FROM positions)" if self.sqlite else "true"
        wrong = self.rows(_RECOUNT.format(mod=mod, hour=_HOUR, counted=counted))
        problems = []
        if wrong:
            examples = ", ".join(
                f"{dim} {key or '-'} on {camera} at {from_micros(int(hour)):%Y-%m-%d %H}h: "
                f"{stored} stored, {recounted} recounted"
                for dim, hour, camera, key, stored, recounted in wrong[:LISTED]
            )
            problems.append(f"{len(wrong)} hourly count(s) differ from a recount ({examples})")
        if totals := self.rows(_ALL_CAMERAS):
            examples = ", ".join(
                f"{dim} {key or '-'} at {from_micros(int(hour)):%Y-%m-%d %H}h: "
                f"{stored} stored, {summed} summed"
                for dim, hour, key, stored, summed in totals[:LISTED]
            )
            problems.append(
                f"{len(totals)} hourly count(s) over all cameras differ from the cameras' sum "
                f"({examples})"
            )
        self.result("counts", problems)

    def detections(self) -> None:
        """Compare each event's detected objects with its detection rows."""
        problems = _mismatches(self.rows(_DETECTIONS), "wrong detection rows", "objects")
        if orphans := int(self.one(_ORPHAN_DETECTIONS)):
            problems.append(f"{orphans} detection row(s) of events that are gone")
        self.result("detections", problems)

    def text(self) -> None:
        """Check the full-text index against the descriptions (SQLite's own index)."""
        if not self.sqlite:
            self.report.skipped.append(
                ("full-text index", "PostgreSQL keeps it itself (a generated column)")
            )
            return
        problems = [f"{n} {what}" for what, query in _SQLITE_TEXT if (n := int(self.one(query)))]
        self.result("full-text index", problems)

    def zones(self) -> None:
        """Compare each event's zones with the zone index (SQLite's own table)."""
        if not self.sqlite:
            self.report.skipped.append(("zones", "PostgreSQL indexes the zones column itself"))
            return
        wrong = self.rows(_SQLITE_ZONES)
        examples = ", ".join(f"{eid}: {want} zones, {got} rows" for eid, want, got in wrong)
        self.result(
            "zones",
            [f"{len(wrong)} event(s) with a wrong zone index ({examples[:400]})"] if wrong else [],
        )

    def cameras(self) -> None:
        """Check that every event's camera is registered."""
        missing = [str(r[0]) for r in self.rows(_CAMERAS)]
        self.result(
            "cameras",
            [f"{len(missing)} camera(s) not registered: {', '.join(missing[:LISTED])}"]
            if missing
            else [],
        )

    def thumbnail_files(self) -> None:
        """Check camvault's thumbnails: each file is there, and each file has its event."""
        if self.store._backend.thumbnails_in_database:
            orphans = int(
                self.one(
                    "SELECT count(*) FROM thumbnails t WHERE NOT EXISTS "
                    "(SELECT 1 FROM event_ids i WHERE i.event_id = t.event_id)"
                )
            )
            self.result(
                "thumbnails",
                [f"{orphans} stored thumbnail(s) of events that are gone"] if orphans else [],
            )
            return
        root = self.store.thumbnails_dir
        owned: set[Path] = set()
        missing: list[str] = []
        for event_id, camera_id, ts, name in self.rows(
            "SELECT event_id, camera_id, ts, thumbnail_path FROM events "
            "WHERE thumbnail_path IS NOT NULL"
        ):
            path = thumbnails.owned(root, camera_id, event_id, from_micros(int(ts)), name)
            if path is None:
                continue  # a file of the pipeline's own: not camvault's to check
            owned.add(path.absolute())
            if not path.is_file():
                missing.append(str(event_id))
        strays = [p for p in _files(root) if p.absolute() not in owned]
        problems = []
        if missing:
            problems.append(
                f"{len(missing)} event(s) whose thumbnail file is gone: "
                f"{', '.join(missing[:LISTED])}"
            )
        if strays:
            problems.append(
                f"{len(strays)} file(s) in {root} that no event owns: "
                f"{', '.join(str(p) for p in strays[:LISTED])}"
            )
        self.result("thumbnails", problems)


def _mismatches(wrong: list[Any], what: str, items: str) -> list[str]:
    """Say how many events have ``what``, with a few examples (none: no problem)."""
    if not wrong:
        return []
    examples = ", ".join(f"{eid}: {want} {items}, {got} rows" for eid, want, got in wrong[:LISTED])
    return [f"{len(wrong)} event(s) with {what} ({examples})"]


def _files(root: Path) -> Iterator[Path]:
    """Every file under ``root`` (none when it does not exist)."""
    if root.is_dir():
        for folder, _, names in os.walk(root):
            for name in names:
                yield Path(folder) / name


def check_store(
    store: EventStore, *, full: bool = False, progress: Callable[[str], None] | None = None
) -> CheckReport:
    """Check the store: its pages (quick), and with ``full`` everything derived from events."""
    store._open()
    report = CheckReport(engine=store._backend.engine, full=full)
    with store._backend.read_snapshot("check the store") as run:
        checks = _Checks(store, run, report)
        if progress is not None:
            progress("database pages")
        try:
            checks.pages(full)
            report.events = int(checks.one("SELECT count(*) FROM events"))
        except DatabaseError as exc:  # pages so damaged that reading them fails outright
            report.findings.append(Finding("database pages", str(exc)))
            return report
        steps: list[tuple[str, Callable[[], None]]] = []
        if full:
            steps += [
                ("counts", checks.counts),
                ("detections", checks.detections),
                ("full-text index", checks.text),
                ("zones", checks.zones),
                ("cameras", checks.cameras),
                ("thumbnails", checks.thumbnail_files),
            ]
        for name, step in steps:
            if progress is not None:
                progress(name)
            step()
    return report
