-- The operators' view: explain_key, the nodes view, read_stats (without
-- shared_preload_libraries here: no counters), shardroute.log_routing.
\set SHOW_CONTEXT never
\set VERBOSITY terse
BEGIN;
SELECT shardroute.add_node('o1', 'h1', 5432, 'db1'), shardroute.add_node('o2', 'h2', 5433, 'db2');
SELECT shardroute.add_standby('o1_standby', 'o1', 'h1s', 5432, 'db1');
SELECT shardroute.create_cluster('ops', 16);
SELECT shardroute.assign_shards('ops', 'o1', 0, 7), shardroute.assign_shards('ops', 'o2', 8, 15);
SELECT shardroute.create_read_group('ops_reads', 'o1');
SELECT shardroute.set_read_weight('ops_reads', 'o1', 1), shardroute.set_read_weight('ops_reads', 'o1_standby', 2);
COMMIT;
-- why a key goes where it goes: hash, shard, range, node, conninfo
SELECT * FROM shardroute.explain_key('ops', 'abc');
SELECT e.shard = shardroute.shard_for_key('ops', k) AS same_shard,
       e.node IS NOT DISTINCT FROM (SELECT r.node FROM shardroute.shard_range r
                                     WHERE r.cluster = 'ops' AND e.shard BETWEEN r.first_shard AND r.last_shard) AS same_node,
       e.hash & 15 = e.shard AS low_bits, count(*)
  FROM generate_series(1, 500) i, LATERAL (SELECT 'key-' || i AS k) kk, LATERAL shardroute.explain_key('ops', k) e
 GROUP BY 1, 2, 3;
-- an unknown cluster: 42704 with the known ones
\set VERBOSITY default
SELECT * FROM shardroute.explain_key('nope', 'abc');
\set VERBOSITY terse
SELECT * FROM shardroute.explain_key('ops', NULL);
-- every node at a glance
SELECT node, role, primary_node, host, port, dbname, clusters, read_groups, state, eligible, reason, chosen
  FROM shardroute.nodes WHERE node IN ('o1', 'o1_standby', 'o2') ORDER BY node;
-- counters need shared memory: none here
SELECT count(*) FROM shardroute.read_stats();
SELECT shardroute.reset_read_stats();
-- log_routing: a DEBUG1 line per choice and per lookup
SET client_min_messages = debug1;
SET shardroute.log_routing = on;
SELECT shardroute.choose_read_node('ops_reads') IN ('o1', 'o1_standby') AS chosen_from_group;
SELECT shardroute.node_for_shard('ops', 9);
RESET shardroute.log_routing;
SELECT shardroute.node_for_shard('ops', 9);
RESET client_min_messages;
-- who may do what
SELECT has_function_privilege('public', 'shardroute.reset_read_stats()', 'EXECUTE') AS public_resets,
       has_table_privilege('public', 'shardroute.nodes', 'SELECT') AS public_sees_nodes,
       has_table_privilege('pg_read_all_stats', 'shardroute.nodes', 'SELECT') AS monitoring_sees_nodes;
-- clean up
BEGIN;
SELECT shardroute.drop_read_group('ops_reads');
SELECT shardroute.drop_cluster('ops');
SELECT shardroute.drop_node(n) FROM unnest(ARRAY['o1_standby', 'o1', 'o2']) n;
COMMIT;
