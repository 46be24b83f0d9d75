-- Fleet operations: promote_standby, the catalog half of an online move or
-- split (the TAP test 004_move_node.pl promotes a real standby).
\set SHOW_CONTEXT never
\set VERBOSITY terse
BEGIN;
SELECT shardroute.add_node('f1', 'h1', 5432, 'db1'), shardroute.add_node('f2', 'h2', 5432, 'db2');
SELECT shardroute.add_standby('f1_standby', 'f1', 'h1s', 5432, 'db1', '10 seconds', 1000, 'app1');
SELECT shardroute.add_standby('f1_copy', 'f1', 'h1c', 5432, 'db1');
SELECT shardroute.create_cluster('fleet', 16);
SELECT shardroute.assign_shards('fleet', 'f1', 0, 7), shardroute.assign_shards('fleet', 'f2', 8, 15);
SELECT shardroute.create_read_group('fleet_reads', 'f1');
SELECT shardroute.set_read_weight('fleet_reads', 'f1', 1), shardroute.set_read_weight('fleet_reads', 'f1_standby', 2);
COMMIT;
-- refusals
SELECT shardroute.promote_standby('nope');
SELECT shardroute.promote_standby('f1');
SELECT shardroute.promote_standby('f1_standby', 'f2');
-- a split: the promoted copy takes shards 4..7 of f1, in one transaction
BEGIN;
SELECT shardroute.promote_standby('f1_copy', 'f3');
SELECT shardroute.assign_shards('fleet', 'f3', 4, 7);
COMMIT;
SELECT name, host, primary_node, max_lag FROM shardroute.node WHERE name LIKE 'f%' ORDER BY name;
SELECT shardroute.node_for_shard('fleet', s) AS node, count(*) FROM generate_series(0, 15) s GROUP BY 1 ORDER BY 1;
-- in place: the standby keeps its name, loses its standby settings and leaves the READ list
SELECT shardroute.promote_standby('f1_standby');
SELECT name, primary_node, max_lag, max_lag_bytes, application_name FROM shardroute.node WHERE name = 'f1_standby';
SELECT read_group, node FROM shardroute.read_member WHERE read_group = 'fleet_reads' ORDER BY node;
SELECT count(*) AS problems FROM shardroute.check_topology();
-- sharded tables: kept per cluster, dropped with it
SELECT shardroute.add_sharded_table('nope', 'docs', 'doc_id');
SELECT shardroute.add_sharded_table('fleet', 'bad..name', 'doc_id');
SELECT shardroute.add_sharded_table('fleet', 'public.form_data', '');
SELECT shardroute.add_sharded_table('fleet', 'public.form_data', 'doc_id');
SELECT shardroute.add_sharded_table('fleet', 'case_data', 'case_id');
SELECT shardroute.add_sharded_table('fleet', 'case_data', 'case_uuid');   -- changes the key column
SELECT * FROM shardroute.sharded_table ORDER BY 1, 2;
SELECT shardroute.drop_sharded_table('fleet', 'nope');
SELECT shardroute.drop_sharded_table('fleet', 'case_data');
-- without a PL/Proxy server for the cluster there is nothing to ask
SELECT * FROM shardroute.shard_distribution('fleet');
SELECT * FROM shardroute.misplaced_rows('no_such_cluster');
CALL shardroute.delete_misplaced_rows('fleet', 0);
-- the deletion itself never takes a shard its node owns, whatever it is asked
SELECT shardroute._partition_delete('fleet', 'f1', 'public.form_data', 'doc_id', ARRAY[0, 9], 10, 0, 0);
-- not executable by PUBLIC
SELECT p::regprocedure, has_function_privilege('public', p, 'EXECUTE') AS public_can_execute
  FROM unnest(ARRAY['shardroute.promote_standby(text, text)', 'shardroute.add_sharded_table(text, text, text)',
                    'shardroute.drop_sharded_table(text, text)', 'shardroute.shard_distribution(text, text)',
                    'shardroute.misplaced_rows(text)', 'shardroute.delete_misplaced_rows(text, int)',
                    'shardroute._partition_counts(text, text, text)',
                    'shardroute._partition_delete(text, text, text, text, int4[], int4, int8, int8)',
                    'shardroute.fence_shards(text, int4, int4)', 'shardroute.unfence_shards(text, int4, int4)',
                    'shardroute._fence_local(text, int4, text, int4[], regclass[], text[])',
                    'shardroute._fence_wait(regclass[], int4)', 'shardroute._unfence_local(text, int4[], int4[])']::regprocedure[]) p;
-- clean up
BEGIN;
SELECT shardroute.drop_read_group('fleet_reads');
SELECT shardroute.drop_cluster('fleet');
SELECT count(*) AS sharded_tables_left FROM shardroute.sharded_table;
SELECT shardroute.drop_node(n) FROM unnest(ARRAY['f1', 'f1_standby', 'f2', 'f3']) n;
COMMIT;
