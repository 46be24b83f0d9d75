\pset footer off
\echo
\echo 'What the writer saw: writes to shards 103..204 were refused (25006) only while they were fenced;'
\echo 'no other write failed.'
SELECT CASE WHEN shard BETWEEN 103 AND 204 THEN 'moving shards 103..204' ELSE 'every other shard' END AS shards,
       count(*) FILTER (WHERE ok) AS acknowledged, count(*) FILTER (WHERE NOT ok) AS refused,
       string_agg(DISTINCT sqlstate, ', ') AS sqlstates,
       round(extract(epoch FROM max(at) FILTER (WHERE NOT ok) - min(at) FILTER (WHERE NOT ok))::numeric, 3) AS fenced_window_s
  FROM demo_writes GROUP BY 1 ORDER BY 1;
\echo
\echo 'Where the acknowledged writes are: on the node that owns their shard; both sides of the split'
\echo 'also hold copies of the shards they gave up (misplaced_rows), until delete_misplaced_rows removes them.'
SELECT node, sum(rows) AS misplaced FROM shardroute.misplaced_rows('commcarehq') GROUP BY node ORDER BY node;
SET client_min_messages = warning;
CALL shardroute.delete_misplaced_rows('commcarehq');
RESET client_min_messages;
SELECT count(*) AS misplaced_after_cleanup FROM shardroute.misplaced_rows('commcarehq');
SELECT d.node, sum(d.rows) AS cases, min(d.shard) AS first_shard, max(d.shard) AS last_shard
  FROM shardroute.shard_distribution('commcarehq', 'cases') d WHERE d.node IN ('p1', 'p1b') GROUP BY d.node ORDER BY d.node;
\echo 'Every acknowledged write, read back through the proxy (RUN ON ALL): found once.'
SELECT count(*) AS acknowledged_writes, count(c.case_id) FILTER (WHERE c.copies = 1) AS found_once
  FROM demo_writes w
  LEFT JOIN (SELECT l.case_id, count(*) AS copies FROM list_cases() l GROUP BY l.case_id) c ON c.case_id = w.case_id
 WHERE w.ok;
