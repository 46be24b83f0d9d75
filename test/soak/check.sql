-- make soak, afterwards: every logged answer against what the catalog said in
-- the versions that could have been visible during its statement.
\set ON_ERROR_STOP 1
SET max_parallel_workers_per_gather = 0;
-- version k may be seen from l(k) (clock before its COMMIT) until u(k+1)
-- (clock once the next COMMIT returned); both bounds grow with k.
CREATE TABLE soak_window AS
SELECT seq, l, coalesce(lead(u) OVER (ORDER BY seq), 'infinity') AS until FROM soak_version;
CREATE INDEX ON soak_window (l);
CREATE INDEX ON soak_window (until);
CREATE INDEX ON soak_range (seq);
CREATE INDEX ON soak_member (seq);
CREATE INDEX ON soak_group (seq);
ANALYZE soak_window, soak_range, soak_member, soak_group;

-- the allowed versions of every answer: k_lo .. k_hi
CREATE TABLE soak_checked AS
SELECT a.*,
       CASE WHEN a.key IS NOT NULL THEN shardroute.hash_string(a.key, 'siphash24') & 1023 END AS key_shard,
       (SELECT w.seq FROM soak_window w WHERE w.until >= a.t_s ORDER BY w.until LIMIT 1) AS k_lo,
       (SELECT w.seq FROM soak_window w WHERE w.l <= a.t_e ORDER BY w.l DESC LIMIT 1) AS k_hi
FROM soak_answer a;

-- does ANSWER agree with version range [lo, hi]?
CREATE FUNCTION soak_ok(kind text, shard int, answer text, lo int, hi int) RETURNS bool LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN kind = 'choose_read_node' THEN EXISTS (
            SELECT 1 FROM soak_group g WHERE g.seq BETWEEN lo AND hi AND answer = coalesce(
                (SELECT m.node FROM soak_member m WHERE m.seq = g.seq AND m.eligible), g.write_node))
        ELSE EXISTS (
            SELECT 1 FROM soak_range r WHERE r.seq BETWEEN lo AND hi AND r.node = answer
               AND shard BETWEEN r.first_shard AND r.last_shard)
    END $$;

CREATE TABLE soak_result AS
SELECT kind,
       count(*) AS answers,
       count(*) FILTER (WHERE k_lo = k_hi) AS one_version,
       count(*) FILTER (WHERE NOT CASE
           WHEN k_lo IS NULL OR k_hi IS NULL OR k_lo > k_hi THEN false
           WHEN kind = 'shard_for_key' THEN shard = key_shard
           WHEN kind = 'route_keys total' THEN shard = 20  -- every one of the 20 keys came back
           ELSE soak_ok(kind, coalesce(key_shard, shard), answer, k_lo, k_hi)
       END) AS wrong,
       -- the checker's teeth: the same answers judged against the version
       -- before their window alone (a backend one change behind)
       count(*) FILTER (WHERE kind NOT IN ('shard_for_key', 'route_keys total') AND k_lo > 0
                        AND NOT soak_ok(kind, coalesce(key_shard, shard), answer, k_lo - 1, k_lo - 1)) AS wrong_if_stale
FROM soak_checked GROUP BY kind ORDER BY kind;
