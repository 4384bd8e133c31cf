-- camvault schema v2 on PostgreSQL: one function stores a batch of events.
--
-- store_events() takes the store's commit lock first and only then runs the statement that
-- writes event ids, events, detections, rollup cells, cameras and the position high-water
-- mark. A statement locks every table it names when it starts, so taking the commit lock
-- inside the same statement would wait for it while holding those tables, and deadlock with a
-- session that holds the commit lock and wants a table exclusively (a new month's partition).
-- As a function, a single insert is still one statement in autocommit: one round trip.
-- Columns arrive as one array per column (a bulk insert aggregates its COPY staging table);
-- the first row of each event_id counts, and an event_id already stored is skipped.
-- Returns (event_id, position) of each stored event, in position order.

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
    p_retain int[]
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
            p_unlock_granted, p_door_action, p_recording_id, p_metadata, p_retain) WITH ORDINALITY
            AS s(event_id, ts, camera_id, motion_confidence, detected_objects, llm_description,
            image_path, json_log_path, thumbnail_path, person_name, face_confidence, face_distance,
            unlock_granted, door_action, recording_id, metadata, retain, n) ORDER BY s.event_id,
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
                recording_id, metadata, retain)
            SELECT ids.id, s.event_id, s.ts, s.camera_id, s.motion_confidence,
                s.detected_objects::json, s.llm_description, s.image_path, s.json_log_path,
                s.thumbnail_path, s.person_name, s.face_confidence, s.face_distance,
                s.unlock_granted::boolean, s.door_action, s.recording_id, s.metadata::json,
                s.retain::boolean FROM src s JOIN ids ON ids.event_id = s.event_id
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
