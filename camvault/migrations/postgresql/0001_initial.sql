-- camvault schema v1 on PostgreSQL: the same store as SQLite's v4, laid out for a server.
-- Timestamps are bigint microseconds since the Unix epoch, UTC (as on SQLite), so cursors,
-- positions and rollup hours mean the same on both engines.
--
-- events and detections are partitioned by month of ts (partitions are created ahead, and
-- on demand for imported history, by camvault; purge drops whole old months). A partitioned
-- table's unique keys must contain ts, so event_ids, one row per event, is what refuses a
-- duplicate event_id whatever its timestamp, and finds an event's (ts, id) by its event_id.

CREATE TABLE cameras (
    camera_id   text PRIMARY KEY,
    name        text,
    created_at  bigint NOT NULL
);

-- Positions (tail(), watch(), /api/stream) are events.id: handed out from this sequence by
-- writers holding the commit-order lock, so ids are committed in increasing order.
CREATE SEQUENCE events_id_seq AS bigint;

CREATE TABLE event_ids (
    event_id  text PRIMARY KEY,
    ts        bigint NOT NULL,
    id        bigint NOT NULL
);
CREATE INDEX event_ids_ts ON event_ids (ts);

CREATE TABLE events (
    id                 bigint NOT NULL,
    event_id           text NOT NULL,
    ts                 bigint NOT NULL,
    camera_id          text NOT NULL,
    motion_confidence  double precision,
    detected_objects   json NOT NULL DEFAULT '[]',    -- the exact JSON given (jsonb would rewrite floats)
    llm_description    text,
    image_path         text,
    json_log_path      text,
    thumbnail_path     text,
    person_name        text,
    face_confidence    double precision,
    face_distance      double precision,
    unlock_granted     boolean,
    door_action        text,
    recording_id       text,
    metadata           json NOT NULL DEFAULT '{}',
    retain             boolean NOT NULL DEFAULT false,
    tsv                tsvector GENERATED ALWAYS AS
                           (to_tsvector('english'::regconfig, coalesce(llm_description, '')))
                           STORED,
    PRIMARY KEY (id, ts)
) PARTITION BY RANGE (ts);

-- newest first overall and per camera; id breaks ties (the keyset of cursors is (ts, id))
CREATE INDEX events_ts_id ON events (ts, id);
CREATE INDEX events_camera_ts ON events (camera_id, ts, id);
CREATE INDEX events_person_ts ON events (person_name, ts) WHERE person_name IS NOT NULL;
CREATE INDEX events_text ON events USING gin (tsv) WHERE llm_description IS NOT NULL;

CREATE TABLE detections (
    event_rowid  bigint NOT NULL,          -- events.id
    ts           bigint NOT NULL,          -- the event's ts: partition key, label + time queries
    idx          integer NOT NULL,         -- position in detected_objects
    label        text NOT NULL,
    confidence   double precision NOT NULL,
    x1 double precision, y1 double precision, x2 double precision, y2 double precision,
    PRIMARY KEY (event_rowid, ts, idx)
) PARTITION BY RANGE (ts);

CREATE INDEX detections_label_ts ON detections (label, ts, confidence);

CREATE TABLE persons (
    name        text PRIMARY KEY,
    authorized  boolean NOT NULL DEFAULT false,
    notes       text,
    created_at  bigint NOT NULL,
    updated_at  bigint NOT NULL
);

-- Event counts per UTC hour and camera, exact in every inserting and deleting transaction:
-- dim 'event' (key ''), 'label' (an event counts once per label) and 'person'.
CREATE TABLE rollup_hourly (
    dim        text NOT NULL,
    hour       bigint NOT NULL,
    camera_id  text NOT NULL,
    key        text NOT NULL,
    n          bigint NOT NULL,
    PRIMARY KEY (dim, hour, camera_id, key)
);
CREATE INDEX rollup_hourly_hour ON rollup_hourly (hour);

-- The newest position committed (never lowered, so positions are never handed out twice).
CREATE TABLE positions (
    one         integer PRIMARY KEY CHECK (one = 1),
    high_water  bigint NOT NULL
);
INSERT INTO positions VALUES (1, 0);

-- Thumbnails stored in the database (the default on a server, so every instance serves
-- them); the file layout stays available as a store option.
CREATE TABLE thumbnails (
    event_id  text PRIMARY KEY,
    ts        bigint NOT NULL,
    format    text NOT NULL,
    data      bytea NOT NULL
);
CREATE INDEX thumbnails_ts ON thumbnails (ts);

-- Every commit that stores events moves high_water; listeners (watch(), /api/stream of every
-- camvault serve on this database) hear it on channel camvault_<schema>, after the commit.
CREATE FUNCTION notify_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('camvault_' || TG_TABLE_SCHEMA, NEW.high_water::text);
    RETURN NULL;
END $$;

CREATE TRIGGER positions_notify AFTER UPDATE ON positions
FOR EACH ROW EXECUTE FUNCTION notify_commit();
