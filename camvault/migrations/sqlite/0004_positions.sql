-- camvault schema v4: positions (events.id, what tail(), watch() and /api/stream ids follow)
-- are never handed out twice. SQLite gives a new row max(id) + 1, so deleting the newest
-- events would give their ids to the next ones, and a follower sitting at such a position
-- would miss those. positions.high_water is at least every id ever deleted; a new event
-- always gets an id above it (the writer gives the first event of a transaction an explicit
-- id when high_water is at or above every stored id). Ids deleted before v4 are not known:
-- it starts at the highest stored id.

CREATE TABLE positions (
    one         INTEGER PRIMARY KEY CHECK (one = 1),
    high_water  INTEGER NOT NULL
);

INSERT INTO positions (one, high_water) SELECT 1, coalesce(max(id), 0) FROM events;

CREATE TRIGGER positions_high_water AFTER DELETE ON events
WHEN old.id > (SELECT high_water FROM positions WHERE one = 1)
BEGIN
    UPDATE positions SET high_water = old.id WHERE one = 1;
END;
