-- camvault schema v5: events that evolve (a tracked object is stored when it appears and
-- updated until it ends): when it ended, the zones it entered, a recognised licence plate
-- and where the event came from, each indexed for the filters that search by it.

ALTER TABLE events ADD COLUMN end_time INTEGER;                 -- NULL: still in progress
ALTER TABLE events ADD COLUMN zones TEXT NOT NULL DEFAULT '[]';  -- JSON array, as given
ALTER TABLE events ADD COLUMN license_plate TEXT;
ALTER TABLE events ADD COLUMN source TEXT;

-- the zone filter seeks (zone, ts) here instead of reading every event's zones
CREATE TABLE event_zones (
    event_rowid  INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    zone         TEXT NOT NULL,
    ts           INTEGER NOT NULL,                    -- the event's ts, for zone + time queries
    PRIMARY KEY (event_rowid, zone)
) WITHOUT ROWID;
CREATE INDEX event_zones_zone_ts ON event_zones (zone, ts);

CREATE INDEX events_plate_ts ON events (license_plate, ts) WHERE license_plate IS NOT NULL;
CREATE INDEX events_source_ts ON events (source, ts) WHERE source IS NOT NULL;
CREATE INDEX events_in_progress_ts ON events (ts) WHERE end_time IS NULL;
