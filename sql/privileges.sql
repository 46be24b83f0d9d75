-- Privileges: lookups for everyone; topology changes only for roles granted EXECUTE.
\set SHOW_CONTEXT never
CREATE ROLE shardroute_app;
CREATE ROLE shardroute_ops;

SET ROLE shardroute_app;
SELECT shardroute.node_for_key('lookup', 'abc') AS lookup_works;
SELECT shardroute.conninfo('lk0') AS conninfo_works;
SELECT count(*) > 0 AS catalog_readable FROM shardroute.node;
SELECT shardroute.add_node('x', 'h');
SELECT shardroute.assign_shards('lookup', 'lk0', 0, 15);
SELECT * FROM shardroute.import_django_settings('{}');
INSERT INTO shardroute.node (name, host) VALUES ('x', 'h');
UPDATE shardroute.shard_range SET node = 'lk0';
DELETE FROM shardroute.node;
RESET ROLE;

-- no function that changes the topology is executable by PUBLIC
SELECT p.oid::regprocedure AS executable_by_public
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'shardroute' AND has_function_privilege('shardroute_app', p.oid, 'EXECUTE')
ORDER BY p.oid::regprocedure::text;

-- EXECUTE is all an operator needs (the functions are SECURITY DEFINER)
GRANT EXECUTE ON FUNCTION shardroute.add_node(text, text, int, text, text, text, text),
                          shardroute.drop_node(text, bool) TO shardroute_ops;
SET ROLE shardroute_ops;
SELECT shardroute.add_node('ops_node', 'h');
SELECT shardroute.drop_node('ops_node');
INSERT INTO shardroute.node (name, host) VALUES ('x', 'h');
RESET ROLE;

REVOKE EXECUTE ON FUNCTION shardroute.add_node(text, text, int, text, text, text, text),
                           shardroute.drop_node(text, bool) FROM shardroute_ops;
DROP ROLE shardroute_app;
DROP ROLE shardroute_ops;
