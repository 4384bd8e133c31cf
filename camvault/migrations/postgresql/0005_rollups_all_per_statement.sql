-- camvault schema v5 on PostgreSQL: the counts over all cameras follow rollup_hourly once per
-- statement instead of once per row. Dropping a month deletes its hourly rows in one
-- statement (a month of 100 cameras: hundreds of thousands of rows) under the store's
-- commit lock, and a trigger per row made every writer wait for one update per row. Each
-- trigger now sums the rows its statement changed (its transition table) per dim, hour and
-- key and applies them in one statement. INSERT .. ON CONFLICT DO UPDATE on rollup_hourly
-- reports each row it inserted to the INSERT trigger's new table and each row it updated to
-- the UPDATE trigger's tables, so every row counts once. Writers hold the commit lock, so
-- cells are never updated concurrently.
DROP TRIGGER rollup_all_apply ON rollup_hourly;
DROP FUNCTION rollup_all_apply();

CREATE FUNCTION rollup_all_insert() RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
BEGIN
    INSERT INTO rollup_all (dim, hour, key, n)
    SELECT dim, hour, key, sum(n) FROM inserted GROUP BY dim, hour, key
    ON CONFLICT (dim, hour, key) DO UPDATE SET n = rollup_all.n + excluded.n;
    RETURN NULL;
END
$$;

-- An update may move a row to a cell that has no sum yet (another dim, hour or key), so the
-- difference per cell is added with an upsert; cells it leaves unchanged are skipped.
CREATE FUNCTION rollup_all_update() RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
BEGIN
    INSERT INTO rollup_all (dim, hour, key, n)
    SELECT dim, hour, key, sum(n) FROM (
        SELECT dim, hour, key, n FROM after_update
        UNION ALL
        SELECT dim, hour, key, -n FROM before_update
    ) d
    GROUP BY dim, hour, key HAVING sum(n) <> 0
    ON CONFLICT (dim, hour, key) DO UPDATE SET n = rollup_all.n + excluded.n;
    RETURN NULL;
END
$$;

-- A deleted row was added to its cell when it was inserted or moved there, and cells are
-- never removed, so every cell it meets exists.
CREATE FUNCTION rollup_all_delete() RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
BEGIN
    UPDATE rollup_all a SET n = a.n - d.n
    FROM (SELECT dim, hour, key, sum(n) AS n FROM deleted GROUP BY dim, hour, key) d
    WHERE a.dim = d.dim AND a.hour = d.hour AND a.key = d.key;
    RETURN NULL;
END
$$;

CREATE TRIGGER rollup_all_insert AFTER INSERT ON rollup_hourly
REFERENCING NEW TABLE AS inserted
FOR EACH STATEMENT EXECUTE FUNCTION rollup_all_insert();

CREATE TRIGGER rollup_all_update AFTER UPDATE ON rollup_hourly
REFERENCING OLD TABLE AS before_update NEW TABLE AS after_update
FOR EACH STATEMENT EXECUTE FUNCTION rollup_all_update();

CREATE TRIGGER rollup_all_delete AFTER DELETE ON rollup_hourly
REFERENCING OLD TABLE AS deleted
FOR EACH STATEMENT EXECUTE FUNCTION rollup_all_delete();
