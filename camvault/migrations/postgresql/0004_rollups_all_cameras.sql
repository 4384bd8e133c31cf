-- camvault schema v4 on PostgreSQL: event counts per UTC hour over all cameras, kept in step
-- with rollup_hourly by a trigger (every write path goes through rollup_hourly): a histogram
-- of a year without a camera filter reads 8,760 cells per dim instead of one per camera and
-- hour. Writers hold the store's commit lock, so cells are never updated concurrently. A cell
-- whose count fell to 0 stays (readers skip sums of 0).
CREATE TABLE rollup_all (
    dim   text NOT NULL,
    hour  bigint NOT NULL,
    key   text NOT NULL,
    n     bigint NOT NULL,
    PRIMARY KEY (dim, hour, key)
);

INSERT INTO rollup_all (dim, hour, key, n)
SELECT dim, hour, key, sum(n) FROM rollup_hourly GROUP BY dim, hour, key;

CREATE FUNCTION rollup_all_apply() RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO rollup_all (dim, hour, key, n) VALUES (NEW.dim, NEW.hour, NEW.key, NEW.n)
        ON CONFLICT (dim, hour, key) DO UPDATE SET n = rollup_all.n + excluded.n;
    ELSIF TG_OP = 'UPDATE' THEN
        UPDATE rollup_all SET n = n + NEW.n - OLD.n
        WHERE dim = NEW.dim AND hour = NEW.hour AND key = NEW.key;
    ELSE
        UPDATE rollup_all SET n = n - OLD.n
        WHERE dim = OLD.dim AND hour = OLD.hour AND key = OLD.key;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER rollup_all_apply AFTER INSERT OR UPDATE OR DELETE ON rollup_hourly
FOR EACH ROW EXECUTE FUNCTION rollup_all_apply();
