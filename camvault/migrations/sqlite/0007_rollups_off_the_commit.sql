-- camvault schema v7: hourly counts off the commit of a single insert. An event stored at
-- a position above positions.rolled is not in rollup_hourly and rollup_all yet: a histogram
-- counts such events directly, and the writer adds them with one aggregated statement per
-- batch (in the same transaction for an insert of many events, in the background for
-- single ones). Every event stored before v7 is counted already.

ALTER TABLE positions ADD COLUMN rolled INTEGER NOT NULL DEFAULT 0;

UPDATE positions SET rolled = (SELECT coalesce(max(id), 0) FROM events);
