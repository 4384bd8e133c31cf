-- camvault schema v3 on PostgreSQL: events that evolve (a tracked object is stored when it
-- appears and updated until it ends): when it ended, the zones it entered, a recognised
-- licence plate and where the event came from, each indexed for the filters that search by
-- it. store_events() (v2) is replaced by one that stores the new columns too; it works as
-- v2's does (see 0002_store_function.sql). Zones arrive as JSON text, like detections.

ALTER TABLE events ADD COLUMN end_time bigint;                        -- NULL: in progress
ALTER TABLE events ADD COLUMN zones text[] NOT NULL DEFAULT '{}';
ALTER TABLE events ADD COLUMN license_plate text;
ALTER TABLE events ADD COLUMN source text;

CREATE INDEX events_zones ON events USING gin (zones);
-- byte order ("C"), so that a plate prefix is a range of the index whatever the collation
CREATE INDEX events_plate_ts ON events ((license_plate COLLATE "C"), ts)
    WHERE license_plate IS NOT NULL;
CREATE INDEX events_source_ts ON events (source, ts) WHERE source IS NOT NULL;
CREATE INDEX events_in_progress_ts ON events (ts) WHERE end_time IS NULL;

DROP FUNCTION store_events(bigint, text[], bigint[], text[], float8[], text[], text[], text[],
    text[], text[], text[], float8[], float8[], int[], text[], text[], text[], int[]);

CREATE FUNCTION store_events(
    p_lock bigint,
    p_event_id text[],
    p_ts bigint[],
    p_camera_id text[],
    p_motion_confidence float8[],
    p_detected_objects text[],
    p_llm_description text[],
    p_image_path text[],
    p_json_log_path text[],
    p_thumbnail_path text[],
    p_person_name text[],
    p_face_confidence float8[],
    p_face_distance float8[],
    p_unlock_granted int[],
    p_door_action text[],
    p_recording_id text[],
    p_metadata text[],
    p_retain int[],
    p_end_time bigint[],
    p_zones text[],
    p_license_plate text[],
    p_source text[]
) RETURNS TABLE (stored_event_id text, stored_id bigint)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan  -- planning the statement costs more than running it
SET search_path FROM CURRENT
AS $$
#variable_conflict use_column
BEGIN
    PERFORM pg_advisory_xact_lock(p_lock);
    RETURN QUERY
        WITH src AS (SELECT DISTINCT ON (s.event_id) s.* FROM unnest(p_event_id, p_ts,
            p_camera_id, p_motion_confidence, p_detected_objects, p_llm_description, p_image_path,
            p_json_log_path, p_thumbnail_path, p_person_name, p_face_confidence, p_face_distance,
            p_unlock_granted, p_door_action, p_recording_id, p_metadata, p_retain, p_end_time,
            p_zones, p_license_plate, p_source) WITH ORDINALITY
            AS s(event_id, ts, camera_id, motion_confidence, detected_objects, llm_description,
            image_path, json_log_path, thumbnail_path, person_name, face_confidence, face_distance,
            unlock_granted, door_action, recording_id, metadata, retain, end_time, zones,
            license_plate, source, n) ORDER BY s.event_id,
            s.n),
        ids AS (
            INSERT INTO event_ids (event_id, ts, id)
            SELECT o.event_id, o.ts, nextval('events_id_seq')
            FROM (SELECT src.event_id, src.ts FROM src ORDER BY src.n) o
            ON CONFLICT (event_id) DO NOTHING
            RETURNING event_id, id
        ),
        ev AS (
            INSERT INTO events (id, event_id, ts, camera_id, motion_confidence,
                detected_objects, llm_description, image_path, json_log_path, thumbnail_path,
                person_name, face_confidence, face_distance, unlock_granted, door_action,
                recording_id, metadata, retain, end_time, zones, license_plate, source)
            SELECT ids.id, s.event_id, s.ts, s.camera_id, s.motion_confidence,
                s.detected_objects::json, s.llm_description, s.image_path, s.json_log_path,
                s.thumbnail_path, s.person_name, s.face_confidence, s.face_distance,
                s.unlock_granted::boolean, s.door_action, s.recording_id, s.metadata::json,
                s.retain::boolean, s.end_time,
                ARRAY(SELECT json_array_elements_text(s.zones::json)), s.license_plate, s.source
                FROM src s JOIN ids ON ids.event_id = s.event_id
            RETURNING id, event_id, ts, camera_id, person_name, detected_objects
        ),
        det AS (
            INSERT INTO detections (event_rowid, ts, idx, label, confidence, x1, y1, x2, y2)
            SELECT ev.id, ev.ts, o.i - 1, o.v->>'label', (o.v->>'confidence')::float8,
                   (o.v->'bbox'->>0)::float8, (o.v->'bbox'->>1)::float8,
                   (o.v->'bbox'->>2)::float8, (o.v->'bbox'->>3)::float8
            FROM ev, json_array_elements(ev.detected_objects) WITH ORDINALITY AS o(v, i)
        ),
        labels AS (
            SELECT DISTINCT ev.id, ev.ts, ev.camera_id, o.v->>'label' AS label
            FROM ev, json_array_elements(ev.detected_objects) AS o(v)
        ),
        roll AS (
            INSERT INTO rollup_hourly (dim, hour, camera_id, key, n)
            SELECT c.dim, c.hour, c.camera_id, c.key, count(*) FROM (
                SELECT 'event' AS dim, ts - mod(ts, 3600000000) AS hour, camera_id, '' AS key
                    FROM ev
                UNION ALL SELECT 'label', ts - mod(ts, 3600000000), camera_id, label FROM labels
                UNION ALL SELECT 'person', ts - mod(ts, 3600000000), camera_id, person_name FROM ev
                WHERE person_name IS NOT NULL
            ) c
            GROUP BY c.dim, c.hour, c.camera_id, c.key ORDER BY c.dim, c.hour, c.camera_id, c.key
            ON CONFLICT (dim, hour, camera_id, key) DO UPDATE SET n = rollup_hourly.n + excluded.n
        ),
        cam AS (
            INSERT INTO cameras (camera_id, name, created_at)
            SELECT camera_id, NULL, min(ts) FROM ev GROUP BY camera_id ORDER BY camera_id
            ON CONFLICT (camera_id) DO NOTHING
        ),
        pos AS (
            UPDATE positions SET high_water = greatest(high_water, m.top)
            FROM (SELECT max(id) AS top FROM ev) m WHERE m.top IS NOT NULL
        )
        SELECT ev.event_id, ev.id FROM ev ORDER BY ev.id;
END
$$;
