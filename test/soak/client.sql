\set n random(1, 100000000)
\set s random(0, 1023)
INSERT INTO soak_answer SELECT 'node_for_key', k, NULL, shardroute.node_for_key('soak', k), statement_timestamp(), clock_timestamp() FROM md5(:n::text) k;
INSERT INTO soak_answer SELECT 'shard_for_key', k, shardroute.shard_for_key('soak', k), NULL, statement_timestamp(), clock_timestamp() FROM md5((:n + 1)::text) k;
INSERT INTO soak_answer SELECT 'node_for_shard', NULL, :s, shardroute.node_for_shard('soak', :s), statement_timestamp(), clock_timestamp();
INSERT INTO soak_answer SELECT 'route_keys', k, NULL, r.node, statement_timestamp(), clock_timestamp()
  FROM shardroute.route_keys('soak', ARRAY(SELECT md5((:n + i)::text) FROM generate_series(10, 29) i)) r, unnest(r.keys) k;
INSERT INTO soak_answer SELECT 'choose_read_node', NULL, NULL, shardroute.choose_read_node('rg'), statement_timestamp(), clock_timestamp();
INSERT INTO soak_answer SELECT 'plpgsql node_for_key', p.key, NULL, p.answer, statement_timestamp(), p.t_e FROM soak_plpgsql_nodes(:n + 100) p;
INSERT INTO soak_answer SELECT 'plpgsql node_for_shard', NULL, :s, soak_plpgsql_shard(:s), statement_timestamp(), clock_timestamp();
INSERT INTO soak_answer SELECT 'route_keys total', NULL, sum(cardinality(r.keys))::int, count(*)::text, statement_timestamp(), clock_timestamp()
  FROM shardroute.route_keys('soak', ARRAY(SELECT md5((:n + i)::text) FROM generate_series(10, 29) i)) r;
