-- make demo, with Citus: a coordinator (this database) and two workers.
-- psql variables: coord, w1, w2 (socket directories), cport, w1port, w2port.
\pset footer off
\echo
\echo '--- 12. Citus for real: the coordinator and two workers registered from the catalog'
CREATE EXTENSION citus;
CREATE EXTENSION shardroute;
SELECT shardroute.add_node('ucr-coordinator', :'coord', :cport, 'postgres', citus_role => 'coordinator');
SELECT shardroute.add_node('ucr-worker1', :'w1', :w1port, 'postgres', citus_role => 'worker');
SELECT shardroute.add_node('ucr-worker2', :'w2', :w2port, 'postgres', citus_role => 'worker');
BEGIN;
SELECT shardroute.add_node('p1', 'pg1', 5432, 'commcarehq_p1'), shardroute.add_node('p2', 'pg2', 5432, 'commcarehq_p2');
SELECT shardroute.create_cluster('commcarehq', 1024);
SELECT shardroute.assign_shards('commcarehq', 'p1', 0, 511), shardroute.assign_shards('commcarehq', 'p2', 512, 1023);
COMMIT;
SELECT node, action FROM shardroute.citus_register();

\echo
\echo '--- 13. A distributed table; node_for_key runs on the workers (Citus pushes it down) and answers as the coordinator does'
CREATE TABLE form_data (doc_id text PRIMARY KEY, domain text);
SELECT create_distributed_table('form_data', 'doc_id');
INSERT INTO form_data SELECT 'doc-' || i, 'demo' FROM generate_series(1, 10000) i;
SELECT shardroute.node_for_key('commcarehq', doc_id) AS partition_db, count(*) AS documents
  FROM form_data GROUP BY 1 ORDER BY 1;
\echo 'the query each worker runs (one task of 32 shown):'
EXPLAIN (VERBOSE, COSTS OFF)
SELECT shardroute.node_for_key('commcarehq', doc_id), count(*) FROM form_data GROUP BY 1;

\echo
\echo '--- 14. Shards 0-255 move to p2 on the coordinator; the next distributed query routes them there'
SELECT shardroute.assign_shards('commcarehq', 'p2', 0, 255);
SELECT shardroute.node_for_key('commcarehq', doc_id) AS partition_db, count(*) AS documents
  FROM form_data GROUP BY 1 ORDER BY 1;
\echo 'citus_drift (no rows: every worker holds the current topology):'
SELECT * FROM shardroute.citus_drift();
