-- camvault schema v2: events that are never purged, full-text search over descriptions,
-- and hourly rollups that answer histograms without scanning events.

ALTER TABLE events ADD COLUMN retain INTEGER NOT NULL DEFAULT 0;

-- Full-text index over llm_description, kept in step with events by triggers.
CREATE VIRTUAL TABLE events_fts USING fts5 (
    llm_description,
    content = 'events',
    content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
INSERT INTO events_fts (events_fts) VALUES ('rebuild');

-- New rows wait in fts_pending and are indexed in batches (one FTS segment per batch
-- instead of one per single-event commit); a text query indexes what is pending first.
CREATE TABLE fts_pending (rowid INTEGER PRIMARY KEY);

CREATE TRIGGER events_fts_insert AFTER INSERT ON events
WHEN new.llm_description IS NOT NULL
BEGIN
    INSERT INTO fts_pending (rowid) VALUES (new.id);
END;

CREATE TRIGGER events_fts_delete AFTER DELETE ON events
WHEN old.llm_description IS NOT NULL
BEGIN
    INSERT INTO events_fts (events_fts, rowid, llm_description)
    SELECT 'delete', old.id, old.llm_description
    WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE rowid = old.id);
    DELETE FROM fts_pending WHERE rowid = old.id;
END;

CREATE TRIGGER events_fts_update AFTER UPDATE OF llm_description ON events
WHEN NOT EXISTS (SELECT 1 FROM fts_pending WHERE rowid = old.id)
BEGIN
    INSERT INTO events_fts (events_fts, rowid, llm_description)
    SELECT 'delete', old.id, old.llm_description WHERE old.llm_description IS NOT NULL;
    INSERT INTO fts_pending (rowid)
    SELECT new.id WHERE new.llm_description IS NOT NULL;
END;

-- Event counts per UTC hour and camera: dim 'event' (key ''), 'label' (an event counts once
-- under each label it contains) and 'person' (events with a recognised person).
CREATE TABLE rollup_hourly (
    dim        TEXT NOT NULL,
    hour       INTEGER NOT NULL,   -- start of the UTC hour, microseconds since the epoch
    camera_id  TEXT NOT NULL,
    key        TEXT NOT NULL,
    n          INTEGER NOT NULL,
    PRIMARY KEY (dim, hour, camera_id, key)
) WITHOUT ROWID;

INSERT INTO rollup_hourly (dim, hour, camera_id, key, n)
SELECT 'event', ts - ((ts % 3600000000) + 3600000000) % 3600000000, camera_id, '', count(*)
FROM events GROUP BY 2, 3;

INSERT INTO rollup_hourly (dim, hour, camera_id, key, n)
SELECT 'label', e.ts - ((e.ts % 3600000000) + 3600000000) % 3600000000, e.camera_id, d.label,
       count(DISTINCT e.id)
FROM events e JOIN detections d ON d.event_rowid = e.id GROUP BY 2, 3, 4;

INSERT INTO rollup_hourly (dim, hour, camera_id, key, n)
SELECT 'person', ts - ((ts % 3600000000) + 3600000000) % 3600000000, camera_id, person_name,
       count(*)
FROM events WHERE person_name IS NOT NULL GROUP BY 2, 3, 4;
