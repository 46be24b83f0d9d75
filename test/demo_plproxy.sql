\pset footer off
\echo
\echo '--- 8. PL/Proxy: the commcarehq cluster server, generated from the catalog (never typed by hand)'
CREATE EXTENSION plproxy;
SELECT shardroute.plproxy_sync('commcarehq');
SELECT count(*) FILTER (WHERE o ~ '^p[0-9]{4}=') AS partition_options, (array_agg(o ORDER BY o) FILTER (WHERE o ~ '^p0000='))[1] AS first_partition
FROM pg_foreign_server, unnest(srvoptions) o WHERE srvname = 'commcarehq';

\echo
\echo 'The five partition databases move to this server: move_node() updates each node and re-syncs the cluster.'
CREATE ROLE commcarehq LOGIN;  -- the USER of the Django settings
SELECT format('CREATE DATABASE commcarehq_p%s', i) FROM generate_series(1, 5) i \gexec
SELECT shardroute.move_node('p' || i, :'here', :port) FROM generate_series(1, 5) i;
SELECT (array_agg(o ORDER BY o) FILTER (WHERE o ~ '^p0000='))[1] AS first_partition_now
FROM pg_foreign_server, unnest(srvoptions) o WHERE srvname = 'commcarehq';
CREATE USER MAPPING FOR PUBLIC SERVER commcarehq;
\set partition_ddl 'CREATE EXTENSION shardroute; CREATE TABLE cases (case_id text PRIMARY KEY); GRANT ALL ON cases TO commcarehq; CREATE FUNCTION save_case(case_id text) RETURNS text LANGUAGE sql AS $$ INSERT INTO cases VALUES (case_id) RETURNING current_database()::text $$; CREATE FUNCTION list_cases() RETURNS TABLE (db text, case_id text) LANGUAGE sql AS $$ SELECT current_database()::text, case_id FROM cases $$;'
\c commcarehq_p1
:partition_ddl
\c commcarehq_p2
:partition_ddl
\c commcarehq_p3
:partition_ddl
\c commcarehq_p4
:partition_ddl
\c commcarehq_p5
:partition_ddl
\c postgres
CREATE FUNCTION save_case(case_id text) RETURNS text LANGUAGE plproxy AS $$
    CLUSTER 'commcarehq';
    RUN ON shardroute.hash_string(case_id, 'siphash24');
$$;
CREATE FUNCTION list_cases() RETURNS TABLE (db text, case_id text) LANGUAGE plproxy AS $$
    CLUSTER 'commcarehq';
    RUN ON ALL;
$$;
\echo
\echo '1,000 cases saved through the proxy function (RUN ON shardroute.hash_string(case_id, ''siphash24'')); where they landed:'
SELECT count(save_case(md5(i::text)::uuid::text)) AS saved FROM generate_series(1, 1000) i;
SELECT db AS database, count(*) AS cases,
       count(*) FILTER (WHERE db <> 'commcarehq_' || shardroute.node_for_key('commcarehq', case_id)) AS not_where_node_for_key_says
FROM list_cases() GROUP BY db ORDER BY db;
