-- PL/Proxy clusters generated from the catalog, end to end on a real PL/Proxy:
-- 4 partition databases, 1024 shards, CommCare-style proxy functions. The
-- proxy is a database of its own, so the catalog starts empty.
\set SHOW_CONTEXT never
\set regress_db :DBNAME
SET client_min_messages = warning;
DROP DATABASE IF EXISTS shardroute_pl_proxy WITH (FORCE);
DROP DATABASE IF EXISTS shardroute_pl_p0 WITH (FORCE);
DROP DATABASE IF EXISTS shardroute_pl_p1 WITH (FORCE);
DROP DATABASE IF EXISTS shardroute_pl_p2 WITH (FORCE);
DROP DATABASE IF EXISTS shardroute_pl_p3 WITH (FORCE);
RESET client_min_messages;
CREATE DATABASE shardroute_pl_proxy;
CREATE DATABASE shardroute_pl_p0;
CREATE DATABASE shardroute_pl_p1;
CREATE DATABASE shardroute_pl_p2;
CREATE DATABASE shardroute_pl_p3;
\set partition_ddl 'CREATE TABLE docs (doc_id text PRIMARY KEY, body text); CREATE FUNCTION insert_doc(doc_id text, body text) RETURNS text LANGUAGE sql AS $$ INSERT INTO docs VALUES (doc_id, body) RETURNING current_database()::text $$; CREATE FUNCTION all_docs() RETURNS TABLE (db text, doc_id text) LANGUAGE sql AS $$ SELECT current_database()::text, doc_id FROM docs $$; CREATE FUNCTION get_docs(doc_ids text[]) RETURNS TABLE (db text, doc_id text) LANGUAGE sql AS $$ SELECT current_database()::text, doc_id FROM docs WHERE doc_id = ANY (doc_ids) $$;'
\c shardroute_pl_p0
:partition_ddl
\c shardroute_pl_p1
:partition_ddl
\c shardroute_pl_p2
:partition_ddl
\c shardroute_pl_p3
:partition_ddl
\c shardroute_pl_proxy
\set SHOW_CONTEXT never
CREATE EXTENSION shardroute;
CREATE EXTENSION plproxy;

-- the catalog: p0..p3 on this server, 256 shards each
DO $$
DECLARE host text := split_part(current_setting('unix_socket_directories'), ',', 1);
BEGIN
    FOR i IN 0..3 LOOP
        PERFORM shardroute.add_node('p' || i, host, current_setting('port')::int, 'shardroute_pl_p' || i);
    END LOOP;
    PERFORM shardroute.create_cluster('commcarehq', 1024);
    FOR i IN 0..3 LOOP
        PERFORM shardroute.assign_shards('commcarehq', 'p' || i, i * 256, i * 256 + 255);
    END LOOP;
END $$;

-- generate the cluster: one option per shard, each the owning node's conninfo
SELECT shardroute.plproxy_sync('commcarehq');
CREATE USER MAPPING FOR PUBLIC SERVER commcarehq;
SELECT count(*) FILTER (WHERE k ~ '^p[0-9]{4}$') AS partitions, string_agg(k || '=' || v, ', ') FILTER (WHERE k !~ '^p') AS settings,
       count(*) FILTER (WHERE k ~ '^p[0-9]{4}$'
                        AND v <> shardroute.conninfo(shardroute.node_for_shard('commcarehq', substr(k, 2)::int))) AS wrong
FROM pg_foreign_server s, LATERAL (SELECT split_part(o, '=', 1) AS k, substr(o, strpos(o, '=') + 1) AS v
                                   FROM unnest(s.srvoptions) o) opts
WHERE s.srvname = 'commcarehq';

-- a re-sync that changes nothing writes nothing
SELECT xmin AS server_xmin FROM pg_foreign_server WHERE srvname = 'commcarehq' \gset
SELECT shardroute.plproxy_sync('commcarehq');
SELECT xmin = :'server_xmin' AS untouched FROM pg_foreign_server WHERE srvname = 'commcarehq';

-- CommCare-style proxy functions
CREATE FUNCTION insert_doc(doc_id text, body text) RETURNS text LANGUAGE plproxy AS $$
    CLUSTER 'commcarehq';
    RUN ON shardroute.hash_string(doc_id, 'siphash24');
$$;
CREATE FUNCTION all_docs() RETURNS TABLE (db text, doc_id text) LANGUAGE plproxy AS $$
    CLUSTER 'commcarehq';
    RUN ON ALL;
$$;
CREATE FUNCTION get_docs(doc_ids text[]) RETURNS TABLE (db text, doc_id text) LANGUAGE plproxy AS $$
    CLUSTER 'commcarehq';
    SPLIT doc_ids;
    RUN ON shardroute.hash_string(doc_ids, 'siphash24');
$$;

-- 2,000 documents: every one in exactly the database node_for_key names
SELECT count(insert_doc(md5(i::text)::uuid::text, 'body ' || i)) AS written FROM generate_series(1, 2000) i;
SELECT count(*) AS rows, count(DISTINCT doc_id) AS distinct_ids, count(DISTINCT db) AS databases,
       count(*) FILTER (WHERE db <> 'shardroute_pl_' || shardroute.node_for_key('commcarehq', doc_id)) AS misplaced
FROM all_docs();
-- SPLIT, as get_indexed_case_ids does: each id fetched once from its own partition
SELECT count(*) AS found, count(DISTINCT doc_id) AS distinct_found,
       count(*) FILTER (WHERE db <> 'shardroute_pl_' || shardroute.node_for_key('commcarehq', doc_id)) AS misplaced
FROM get_docs(ARRAY(SELECT md5(i::text)::uuid::text FROM generate_series(1, 500) i));

-- assign_shards + re-sync moves routing: p0's shards go to p1
SELECT shardroute.assign_shards('commcarehq', 'p1', 0, 255);
SELECT shardroute.plproxy_sync('commcarehq');
SELECT count(*) AS new_docs, count(*) FILTER (WHERE insert_doc(id, 'moved') <> 'shardroute_pl_p1') AS not_on_p1
FROM (SELECT 'new-' || i AS id FROM generate_series(1, 400) i WHERE shardroute.shard_for_key('commcarehq', 'new-' || i) < 256) s;

-- settings: PL/Proxy's own keys only; NULL keeps the server's
SELECT shardroute.plproxy_sync('commcarehq', options => '{"query_timeout": 30, "connection_lifetime": "600"}');
SELECT o FROM pg_foreign_server, unnest(srvoptions) o WHERE srvname = 'commcarehq' AND o !~ '^p[0-9]' ORDER BY 1;
SELECT shardroute.plproxy_sync('commcarehq');
SELECT o FROM pg_foreign_server, unnest(srvoptions) o WHERE srvname = 'commcarehq' AND o !~ '^p[0-9]' ORDER BY 1;

-- errors
SELECT shardroute.plproxy_sync('nope');
SELECT shardroute.plproxy_sync('commcarehq', options => '{"p0000": "host=elsewhere"}');
SELECT shardroute.plproxy_sync('commcarehq', options => '{"timeout": 30}');
SELECT shardroute.plproxy_sync('commcarehq', options => '{"query_timeout": "soon"}');
SELECT shardroute.plproxy_sync('commcarehq', for_standbys => true);
SELECT shardroute.plproxy_sync('commcarehq', options => '[1800]');
SELECT shardroute.plproxy_sync('commcarehq', options => '{"query_timeout": [30]}');
-- an invalid topology is refused, even inside the transaction that broke it
BEGIN;
DELETE FROM shardroute.shard_range WHERE node = 'p3';
SELECT shardroute.plproxy_sync('commcarehq');
ROLLBACK;
CREATE FOREIGN DATA WRAPPER not_plproxy;
CREATE SERVER other_server FOREIGN DATA WRAPPER not_plproxy;
SELECT shardroute.plproxy_sync('commcarehq', server => 'other_server');
DROP SERVER other_server;
DROP FOREIGN DATA WRAPPER not_plproxy;

-- names and hosts with quotes, spaces and backslashes round-trip safely
BEGIN;
SELECT shardroute.add_node($$it's "odd" \$$, $$pg 'x' \ y$$, 5432, $$db "q" 'r'$$);
SELECT shardroute.create_cluster($$odd "cluster"$$, 1);
SELECT shardroute.assign_shards($$odd "cluster"$$, $$it's "odd" \$$, 0, 0);
COMMIT;
SELECT shardroute.plproxy_sync($$odd "cluster"$$, $$my 'server' \$$);
SELECT srvname, srvoptions[3] = 'p0000=' || shardroute.conninfo($$it's "odd" \$$) AS conninfo_kept, srvoptions[3]
FROM pg_foreign_server WHERE srvname = $$my 'server' \$$;

-- read_cluster: the primary cluster unless the GUC is on and every shard standby is fresh
SELECT shardroute.read_cluster('commcarehq') AS guc_off;
SET shardroute.read_from_standbys = on;
SELECT shardroute.read_cluster('commcarehq') AS no_standbys;
RESET shardroute.read_from_standbys;
SELECT shardroute.replication_caught_up('nope');

-- clean up
\c :regress_db
DROP DATABASE shardroute_pl_proxy WITH (FORCE);
DROP DATABASE shardroute_pl_p0 WITH (FORCE);
DROP DATABASE shardroute_pl_p1 WITH (FORCE);
DROP DATABASE shardroute_pl_p2 WITH (FORCE);
DROP DATABASE shardroute_pl_p3 WITH (FORCE);
