-- Lookups: key -> shard -> node, from the backend's catalog cache.
\set SHOW_CONTEXT never
BEGIN;
SELECT count(shardroute.add_node('lk' || i, 'host' || i, 5432, 'db' || i)) FROM generate_series(0, 3) i;
SELECT shardroute.create_cluster('lookup', 16);
SELECT count(shardroute.assign_shards('lookup', 'lk' || i, i * 4, i * 4 + 3)) FROM generate_series(0, 3) i;
COMMIT;

-- a known key: hash_string('abc', 'siphash24') = 1198583518, & 15 = 14, shards 12..15 on lk3
SELECT shardroute.shard_for_key('lookup', 'abc'), shardroute.node_for_key('lookup', 'abc'),
       shardroute.node_for_shard('lookup', 14);
-- a UUID key hashes as its 16 raw bytes: 1415444857 & 15 = 9, on lk2
SELECT shardroute.shard_for_key('lookup', '403724ef-9fe1-41f2-9083-63918c62c2ff'::uuid),
       shardroute.node_for_key('lookup', '403724ef-9fe1-41f2-9083-63918c62c2ff'::uuid);

-- 5000 keys: node_for_key, node_for_shard(shard_for_key) and the hash agree
SELECT count(*) AS keys,
       count(*) FILTER (WHERE shardroute.shard_for_key('lookup', k) <> shardroute.hash_string(k, 'siphash24') & 15) AS bad_shard,
       count(*) FILTER (WHERE shardroute.node_for_key('lookup', k)
                              <> shardroute.node_for_shard('lookup', shardroute.shard_for_key('lookup', k))) AS bad_node,
       count(*) FILTER (WHERE shardroute.node_for_key('lookup', u)
                              <> 'lk' || ((shardroute.hash_uuid(u) & 15) / 4)) AS bad_uuid_node
FROM (SELECT md5(i::text) AS k, md5(i::text)::uuid AS u FROM generate_series(1, 5000) i) s;

-- route_keys groups by owner, loses nothing, keeps input order
SELECT * FROM shardroute.route_keys('lookup', ARRAY['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
WITH k AS (SELECT array_agg(md5(i::text) ORDER BY i) AS a FROM generate_series(1, 1000) i)
SELECT count(*) AS nodes, sum(cardinality(r.keys)) AS keys,
       bool_and(NOT EXISTS (SELECT 1 FROM unnest(r.keys) x WHERE shardroute.node_for_key('lookup', x) <> r.node)) AS all_owned
FROM k, shardroute.route_keys('lookup', k.a) r;
SELECT count(*) AS rows_for_no_keys FROM shardroute.route_keys('lookup', '{}');

-- a cluster on PostgreSQL's hashtext, as classic PL/Proxy setups hash
BEGIN;
SELECT shardroute.create_cluster('classic', 4, 'hashtext');
SELECT shardroute.assign_shards('classic', 'lk0', 0, 1), shardroute.assign_shards('classic', 'lk1', 2, 3);
COMMIT;
SELECT count(*) FILTER (WHERE shardroute.shard_for_key('classic', k) <> hashtext(k) & 3) AS bad_hashtext_shard
FROM (SELECT md5(i::text) AS k FROM generate_series(1, 1000) i) s;

-- errors
SELECT shardroute.node_for_key('nope', 'k');
SELECT shardroute.node_for_shard('lookup', 16);
SELECT shardroute.node_for_shard('lookup', -1);
SELECT * FROM shardroute.route_keys('lookup', ARRAY['a', NULL]);
SELECT shardroute.conninfo('nope');
SELECT shardroute.create_cluster('empty', 8);
SELECT shardroute.node_for_key('empty', 'k');
SELECT shardroute.drop_cluster('empty');

-- this session's own change is seen by its next statement; a rollback restores the old answer
SELECT shardroute.node_for_shard('lookup', 15) AS before;
BEGIN;
SELECT shardroute.assign_shards('lookup', 'lk0', 12, 15);
SELECT shardroute.node_for_shard('lookup', 15) AS inside;
ROLLBACK;
SELECT shardroute.node_for_shard('lookup', 15) AS after_rollback;

-- in parallel workers too
SET force_parallel_mode = on;
SELECT count(*) FILTER (WHERE shardroute.node_for_key('lookup', k) <> 'lk' || ((shardroute.hash_string(k, 'siphash24') & 15) / 4)) AS bad_in_worker
FROM (SELECT md5(i::text) AS k FROM generate_series(1, 2000) i) s;
RESET force_parallel_mode;

-- no allocation outlives a call: memory is flat across 10M calls in one query.
-- The first query of that size grows the backend by ~10 MB whatever it calls
-- (PostgreSQL's own executor memory), so an identical query warms up first;
-- a leak of even one byte per call would then show as 10 MB.
CREATE FUNCTION pg_temp.rss_kb() RETURNS bigint LANGUAGE sql AS $$
    SELECT (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'), 'RssAnon:\s+(\d+)'))[1]::bigint $$;
SELECT count(shardroute.node_for_key('lookup', i::text)) FROM (SELECT generate_series(1, 10000000) AS i) s;
SELECT pg_temp.rss_kb() AS before_kb \gset
SELECT count(shardroute.node_for_key('lookup', i::text)) FROM (SELECT generate_series(1, 10000000) AS i) s;
SELECT pg_temp.rss_kb() - :before_kb < 512 AS memory_flat_over_10m_calls;
