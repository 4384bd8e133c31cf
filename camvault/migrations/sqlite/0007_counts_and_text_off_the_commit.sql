-- camvault schema v7: a single insert's hourly counts and full-text entry leave its commit.
--
-- positions.rolled: an event stored at a position above it is not in rollup_hourly and
-- rollup_all yet. A histogram counts such events directly; the writer adds them with one
-- aggregated statement per batch (in the same transaction for an insert of many events, in
-- the background for single ones).
--
-- positions.indexed: a described event stored above it waits for the text index, as before
-- in fts_pending, which from now on lists only events at or below it whose text or time
-- changed. The background indexes both; a text query indexes what waits first.
--
-- Every event stored before v7 is counted, and indexed or listed in fts_pending.

ALTER TABLE positions ADD COLUMN rolled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE positions ADD COLUMN indexed INTEGER NOT NULL DEFAULT 0;

UPDATE positions SET
    rolled = (SELECT coalesce(max(id), 0) FROM events),
    indexed = (SELECT coalesce(max(id), 0) FROM events);

DROP TRIGGER events_fts_insert;

-- as in v3, but an event above positions.indexed is not listed: it is indexed as it is anyway
DROP TRIGGER events_text_update;
CREATE TRIGGER events_text_update AFTER UPDATE OF ts, llm_description ON events
BEGIN
    INSERT INTO events_text (events_text, rowid, llm_description)
    SELECT 'delete', key, old.llm_description FROM text_keys
    WHERE old.ts >= 0 AND old.ts < 7258118400000000
      AND key >= old.ts * 1024 AND key < old.ts * 1024 + 1024 AND event_rowid = old.id;
    INSERT INTO events_text (events_text, rowid, llm_description)
    SELECT 'delete', key, old.llm_description FROM text_keys
    WHERE key >= 8000000000000000000 AND event_rowid = old.id;
    DELETE FROM text_keys
    WHERE old.ts >= 0 AND old.ts < 7258118400000000
      AND key >= old.ts * 1024 AND key < old.ts * 1024 + 1024 AND event_rowid = old.id;
    DELETE FROM text_keys WHERE key >= 8000000000000000000 AND event_rowid = old.id;
    INSERT OR IGNORE INTO fts_pending (rowid)
    SELECT new.id WHERE new.llm_description IS NOT NULL
      AND new.id <= (SELECT indexed FROM positions);
END;
