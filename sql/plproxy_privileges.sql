-- Who may write which PL/Proxy server: plproxy_sync() changes servers it
-- created itself, or servers whose owner calls it; never another role's.
\set SHOW_CONTEXT never
\set regress_db :DBNAME
SET client_min_messages = warning;
DROP DATABASE IF EXISTS shardroute_pl_priv WITH (FORCE);
DROP ROLE IF EXISTS shardroute_pl_ops;
DROP ROLE IF EXISTS shardroute_pl_alice;
RESET client_min_messages;
CREATE DATABASE shardroute_pl_priv;
\c shardroute_pl_priv
\set SHOW_CONTEXT never
CREATE EXTENSION shardroute;
CREATE EXTENSION plproxy;
BEGIN;
SELECT shardroute.add_node('q0', 'host0'), shardroute.add_node('q1', 'host1');
SELECT shardroute.create_cluster('c', 2);
SELECT shardroute.assign_shards('c', 'q0', 0, 0), shardroute.assign_shards('c', 'q1', 1, 1);
COMMIT;

CREATE ROLE shardroute_pl_ops;
CREATE ROLE shardroute_pl_alice;
GRANT EXECUTE ON FUNCTION shardroute.plproxy_sync(text, text, bool, jsonb),
                          shardroute.move_node(text, text, int, text) TO shardroute_pl_ops, shardroute_pl_alice;
GRANT USAGE ON FOREIGN DATA WRAPPER plproxy TO shardroute_pl_alice;

-- an operator creates the cluster's server: shardroute owns it and marks it
SET ROLE shardroute_pl_ops;
SELECT shardroute.plproxy_sync('c');
RESET ROLE;
SELECT s.srvname, pg_get_userbyid(s.srvowner) = current_user AS owned_by_extension_owner,
       obj_description(s.oid, 'pg_foreign_server') AS comment
FROM pg_foreign_server s WHERE s.srvname = 'c';

-- ... and may change it again, directly and through move_node
SET ROLE shardroute_pl_ops;
SELECT shardroute.move_node('q1', 'host1-new');
RESET ROLE;
SELECT option_value FROM pg_options_to_table((SELECT srvoptions FROM pg_foreign_server WHERE srvname = 'c'))
WHERE option_name = 'p0001';

-- a server another role made and owns is not the operator's to rewrite
SET ROLE shardroute_pl_alice;
CREATE SERVER alice_srv FOREIGN DATA WRAPPER plproxy OPTIONS (p0 'dbname=alice0', p1 'dbname=alice1');
RESET ROLE;
SET ROLE shardroute_pl_ops;
SELECT shardroute.plproxy_sync('c', server => 'alice_srv');
RESET ROLE;
SELECT srvoptions FROM pg_foreign_server WHERE srvname = 'alice_srv';
-- its owner may
SET ROLE shardroute_pl_alice;
SELECT shardroute.plproxy_sync('c', server => 'alice_srv');
RESET ROLE;
SELECT cardinality(srvoptions) AS alice_options FROM pg_foreign_server WHERE srvname = 'alice_srv';

-- a server the superuser made by hand is not shardroute's either
CREATE SERVER manual_srv FOREIGN DATA WRAPPER plproxy OPTIONS (p0 'dbname=m0');
SET ROLE shardroute_pl_ops;
SELECT shardroute.plproxy_sync('c', server => 'manual_srv');
RESET ROLE;
SELECT srvoptions FROM pg_foreign_server WHERE srvname = 'manual_srv';

-- server names: not empty, at most 63 bytes (PostgreSQL would cut a longer one)
SELECT shardroute.plproxy_sync('c', server => '');
SELECT shardroute.plproxy_sync('c', server => repeat('s', 64));
BEGIN;
SELECT shardroute.create_cluster(repeat('k', 60), 2);
SELECT shardroute.assign_shards(repeat('k', 60), 'q0', 0, 1);
SELECT shardroute.add_standby('q0s', 'q0', 'host0s');
SELECT shardroute.plproxy_sync(repeat('k', 60), for_standbys => true);
ROLLBACK;
SELECT count(*) AS servers FROM pg_foreign_server;

\c :regress_db
SET client_min_messages = warning;
DROP DATABASE shardroute_pl_priv WITH (FORCE);
DROP ROLE shardroute_pl_ops;
DROP ROLE shardroute_pl_alice;
RESET client_min_messages;
