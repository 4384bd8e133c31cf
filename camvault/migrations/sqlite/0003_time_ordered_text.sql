-- camvault schema v3: the full-text index keyed by time, so that a text query reads its
-- matches newest (or oldest) first whatever order the events were inserted in (an imported
-- history arrives after newer live events).
--
-- Each described event gets a time key: ts * 1024 + n, where n (0..1023) tells apart the
-- events of one microsecond. Keys then sort like timestamps for every ts in [1970, 2200)
-- and fit in 64 bits. An event whose ts lies outside that range, or whose microsecond
-- already holds 1024 keys, gets an unordered key from 8e18 up; a text query reads those
-- in full. text_keys maps a key back to its event; events_text indexes the descriptions
-- under those keys (contentless: the text stays in events only). Rows still waiting in
-- fts_pending are left there: they get their keys when the pending rows are indexed.

CREATE TABLE text_keys (
    key          INTEGER PRIMARY KEY,
    event_rowid  INTEGER NOT NULL
);
CREATE UNIQUE INDEX text_keys_unordered ON text_keys (event_rowid)
WHERE key >= 8000000000000000000;

CREATE VIRTUAL TABLE events_text USING fts5 (
    llm_description,
    content = '',
    tokenize = 'porter unicode61 remove_diacritics 2'
);

INSERT INTO text_keys (key, event_rowid)
SELECT ts * 1024 + n, id FROM (
    SELECT id, ts, row_number() OVER (PARTITION BY ts ORDER BY id) - 1 AS n
    FROM events
    WHERE llm_description IS NOT NULL AND ts >= 0 AND ts < 7258118400000000
      AND id NOT IN (SELECT rowid FROM fts_pending)
)
WHERE n < 1024;

INSERT INTO text_keys (key, event_rowid)
SELECT 8000000000000000000 + row_number() OVER (ORDER BY id) - 1, id FROM (
    SELECT id, ts, row_number() OVER (PARTITION BY ts ORDER BY id) - 1 AS n
    FROM events
    WHERE llm_description IS NOT NULL AND id NOT IN (SELECT rowid FROM fts_pending)
)
WHERE n >= 1024 OR ts < 0 OR ts >= 7258118400000000;

INSERT INTO events_text (rowid, llm_description)
SELECT k.key, e.llm_description FROM text_keys k JOIN events e ON e.id = k.event_rowid
ORDER BY k.key;

-- The rowid-keyed index of v2 is retired: emptied (migrations only add, so it stays as an
-- empty table) and no longer maintained.
DROP TRIGGER events_fts_delete;
DROP TRIGGER events_fts_update;
INSERT INTO events_fts (events_fts) VALUES ('delete-all');

CREATE TRIGGER events_text_delete AFTER DELETE ON events
WHEN old.llm_description IS NOT NULL
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
    DELETE FROM fts_pending WHERE rowid = old.id;
END;

-- A new description or a new timestamp: the old entry goes, the row is indexed again.
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
    SELECT new.id WHERE new.llm_description IS NOT NULL;
END;
