-- Event counts per UTC hour over all cameras, kept in step with rollup_hourly by triggers:
-- a histogram of a year without a camera filter reads 8,760 cells per dim instead of one per
-- camera and hour. A cell whose count fell to 0 stays (readers skip sums of 0).
CREATE TABLE rollup_all (
    dim   TEXT NOT NULL,
    hour  INTEGER NOT NULL,   -- start of the UTC hour, microseconds since the epoch
    key   TEXT NOT NULL,
    n     INTEGER NOT NULL,
    PRIMARY KEY (dim, hour, key)
) WITHOUT ROWID;

INSERT INTO rollup_all (dim, hour, key, n)
SELECT dim, hour, key, sum(n) FROM rollup_hourly GROUP BY dim, hour, key;

CREATE TRIGGER rollup_all_insert AFTER INSERT ON rollup_hourly BEGIN
    INSERT INTO rollup_all (dim, hour, key, n) VALUES (new.dim, new.hour, new.key, new.n)
    ON CONFLICT (dim, hour, key) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER rollup_all_update AFTER UPDATE OF n ON rollup_hourly BEGIN
    UPDATE rollup_all SET n = n + new.n - old.n
    WHERE dim = new.dim AND hour = new.hour AND key = new.key;
END;

CREATE TRIGGER rollup_all_delete AFTER DELETE ON rollup_hourly BEGIN
    UPDATE rollup_all SET n = n - old.n
    WHERE dim = old.dim AND hour = old.hour AND key = old.key;
END;
