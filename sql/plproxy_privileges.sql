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

-- ... and its owner (the superuser here) may
SELECT shardroute.plproxy_sync('c', server => 'manual_srv');

-- a SECURITY DEFINER function acts as its owner: the operator's function does
-- not get the rights of whoever calls it
CREATE SCHEMA ops AUTHORIZATION shardroute_pl_ops;
SET ROLE shardroute_pl_ops;
CREATE FUNCTION ops.sync_for_me(s text) RETURNS text LANGUAGE sql SECURITY DEFINER
    AS $$ SELECT shardroute.plproxy_sync('c', server => s) $$;
RESET ROLE;
GRANT USAGE ON SCHEMA ops TO shardroute_pl_alice;
SET ROLE shardroute_pl_alice;
CREATE SERVER alice_two FOREIGN DATA WRAPPER plproxy OPTIONS (p0 'dbname=alice0');
SELECT ops.sync_for_me('alice_two');
RESET ROLE;
SELECT ops.sync_for_me('manual_srv');
SELECT srvoptions FROM pg_foreign_server WHERE srvname = 'alice_two';

-- a generated server belongs to its cluster: no other cluster is synced into it
BEGIN;
SELECT shardroute.create_cluster('c2', 2);
SELECT shardroute.assign_shards('c2', 'q1', 0, 1);
COMMIT;
SET ROLE shardroute_pl_ops;
SELECT shardroute.plproxy_sync('c2', server => 'c');
RESET ROLE;
SELECT shardroute.plproxy_sync('c2', server => 'c');
SELECT shardroute.plproxy_sync('c', for_standbys => true, server => 'c');

-- a server another role made first under the cluster's name is not taken over, even by a superuser
SET ROLE shardroute_pl_alice;
CREATE SERVER c2 FOREIGN DATA WRAPPER plproxy OPTIONS (p0 'host=attacker');
RESET ROLE;
SELECT shardroute.plproxy_sync('c2');
SELECT srvoptions FROM pg_foreign_server WHERE srvname = 'c2';

-- a cluster not filled yet does not stop syncing the others
SELECT shardroute.create_cluster('not_yet', 4);
SELECT shardroute.plproxy_sync('c');
SELECT shardroute.drop_cluster('not_yet');

-- server names: not empty, at most 63 bytes (PostgreSQL would cut a longer one)
SELECT shardroute.plproxy_sync('c', server => '');
SELECT shardroute.plproxy_sync('c', server => repeat('s', 64));
-- a cluster's name leaves room for <cluster>_standby
SELECT shardroute.create_cluster(repeat('k', 56), 2);
BEGIN;
SELECT shardroute.create_cluster(repeat('k', 55), 2);
SELECT shardroute.assign_shards(repeat('k', 55), 'q0', 0, 1);
SELECT shardroute.add_standby('q0s', 'q0', 'host0s');
SELECT shardroute.plproxy_sync(repeat('k', 55), for_standbys => true) = repeat('k', 55) || '_standby' AS full_name;
ROLLBACK;
SELECT count(*) AS servers FROM pg_foreign_server;

\c :regress_db
SET client_min_messages = warning;
DROP DATABASE shardroute_pl_priv WITH (FORCE);
DROP ROLE shardroute_pl_ops;
DROP ROLE shardroute_pl_alice;
RESET client_min_messages;
