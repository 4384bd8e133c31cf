-- camvault schema v1: cameras, events, detections, persons.
-- Timestamps are integer microseconds since the Unix epoch, UTC.

CREATE TABLE cameras (
    camera_id   TEXT PRIMARY KEY,
    name        TEXT,
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE events (
    id                 INTEGER PRIMARY KEY,          -- internal; keyset cursors use (ts, id)
    event_id           TEXT NOT NULL UNIQUE,
    ts                 INTEGER NOT NULL,
    camera_id          TEXT NOT NULL REFERENCES cameras (camera_id),
    motion_confidence  REAL,
    detected_objects   TEXT NOT NULL DEFAULT '[]',   -- JSON array, the exact objects given
    llm_description    TEXT,
    image_path         TEXT,
    json_log_path      TEXT,
    thumbnail_path     TEXT,
    person_name        TEXT,
    face_confidence    REAL,
    face_distance      REAL,
    unlock_granted     INTEGER,
    door_action        TEXT,
    recording_id       TEXT,
    metadata           TEXT NOT NULL DEFAULT '{}'    -- JSON object
);

-- newest first overall, and per camera; the rowid rides along as the keyset tie-breaker
CREATE INDEX events_ts ON events (ts);
CREATE INDEX events_camera_ts ON events (camera_id, ts);
CREATE INDEX events_person_ts ON events (person_name, ts) WHERE person_name IS NOT NULL;

CREATE TABLE detections (
    event_rowid  INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    idx          INTEGER NOT NULL,                    -- position in detected_objects
    label        TEXT NOT NULL,
    confidence   REAL NOT NULL,
    x1 REAL, y1 REAL, x2 REAL, y2 REAL,
    ts           INTEGER NOT NULL,                    -- the event's ts, for label + time queries
    PRIMARY KEY (event_rowid, idx)
) WITHOUT ROWID;

CREATE INDEX detections_label_ts ON detections (label, ts, confidence);

CREATE TABLE persons (
    name        TEXT PRIMARY KEY,
    authorized  INTEGER NOT NULL DEFAULT 0,
    notes       TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) WITHOUT ROWID;
