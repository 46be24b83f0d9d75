-- The Django settings format, on the settings documents of test/fixtures/django/
-- (the ones the unit tests and the fuzzer use). Runs in a database of its own so
-- the catalog starts empty.
\set SHOW_CONTEXT never
\set regress_db :DBNAME
\getenv abs_srcdir PG_ABS_SRCDIR
\set fixtures :abs_srcdir /test/fixtures/django
\set plproxy `cat :'fixtures'/plproxy.json`
\set five_partitions `cat :'fixtures'/five_partitions.json`
\set standby `cat :'fixtures'/standby.json`
\set reporting_databases `cat :'fixtures'/reporting_databases.json`
\set load_balanced_apps `cat :'fixtures'/load_balanced_apps.json`
\set citus `cat :'fixtures'/citus.json`
CREATE DATABASE shardroute_django;
\c shardroute_django
CREATE EXTENSION shardroute;

-- plproxy.json: one proxy, two shard databases (passwords are never imported)
SELECT * FROM shardroute.import_django_settings(:'plproxy');
SELECT * FROM shardroute.shard_cluster;
SELECT * FROM shardroute.shard_range ORDER BY first_shard;
SELECT name, host, port, dbname, options FROM shardroute.node ORDER BY name;
SELECT shardroute.node_for_key('commcarehq', '403724ef-9fe1-41f2-9083-63918c62c2ff');
SELECT count(*) AS password_in_catalog FROM shardroute.node WHERE options LIKE '%password%';

-- five_partitions.json replaces it
SELECT * FROM shardroute.import_django_settings(:'five_partitions', replace => true);
SELECT node, first_shard, last_shard FROM shardroute.shard_range ORDER BY first_shard;

-- STANDBY, REPORTING_DATABASES (READ weights 1/2/2) and LOAD_BALANCED_APPS, merged in
SELECT * FROM shardroute.import_django_settings(:'standby');
SELECT * FROM shardroute.import_django_settings(:'reporting_databases');
SELECT * FROM shardroute.import_django_settings(:'load_balanced_apps');
SELECT name, primary_node, max_lag, application_name FROM shardroute.node WHERE primary_node IS NOT NULL ORDER BY name;
SELECT g.name, g.setting, g.write_node, m.node, m.weight
FROM shardroute.read_group g LEFT JOIN shardroute.read_member m ON m.read_group = g.name ORDER BY 1, 4;

-- citus.json: ROLE and CITUS_NODE_NAME
SELECT * FROM shardroute.import_django_settings(:'citus');
SELECT name, port, citus_role, citus_node_name FROM shardroute.node WHERE citus_role IS NOT NULL ORDER BY name;

-- export, and import(export()) is the identity
SELECT jsonb_pretty(shardroute.export_django_settings() #> '{DATABASES,ucr_standby1}') AS ucr_standby1,
       jsonb_pretty(shardroute.export_django_settings() #> '{REPORTING_DATABASES}') AS reporting;
SELECT shardroute.export_django_settings() AS exported \gset
SELECT action, count(*) FROM shardroute.import_django_settings(:'exported', replace => true) GROUP BY 1;
SELECT shardroute.export_django_settings() = :'exported'::jsonb AS export_unchanged;
SELECT count(*) AS problems FROM shardroute.check_topology();

-- every CommCare rule rejects a bad document, naming the setting; nothing is written
SELECT * FROM shardroute.import_django_settings($${"DATABASES": {
  "a": {"HOST": "h", "PLPROXY": {"PROXY": true}}, "b": {"HOST": "h", "PLPROXY": {"PROXY": true}},
  "p": {"HOST": "h", "PLPROXY": {"SHARDS": [0, 1]}}}}$$, replace => true);
SELECT * FROM shardroute.import_django_settings($${"DATABASES": {"proxy": {"HOST": "h", "PLPROXY": {"PROXY": true}},
  "p1": {"HOST": "h", "PLPROXY": {"SHARDS": [0, 511]}}, "p2": {"HOST": "h", "PLPROXY": {"SHARDS": [512, 1000]}}},
  "PL_PROXY_CLUSTER_NAME": "other"}$$, replace => true);
SELECT * FROM shardroute.import_django_settings($${"DATABASES": {"proxy": {"HOST": "h", "PLPROXY": {"PROXY": true}},
  "p1": {"HOST": "h", "PLPROXY": {"SHARDS": [0, 500]}}, "p2": {"HOST": "h", "PLPROXY": {"SHARDS": [512, 1023]}}}}$$,
  replace => true);
SELECT * FROM shardroute.import_django_settings($${"DATABASES": {"proxy": {"HOST": "h", "PLPROXY": {"PROXY": true}},
  "p1": {"HOST": "h", "PLPROXY": {"SHARDS": [0, 600]}}, "p2": {"HOST": "h", "PLPROXY": {"SHARDS": [512, 1023]}}}}$$,
  replace => true);
SELECT * FROM shardroute.import_django_settings($${"DATABASES": {"proxy": {"HOST": "h", "PLPROXY": {"PROXY": true}},
  "p1": {"HOST": "h", "PLPROXY": {"SHARDS": [1, 511]}}, "p2": {"HOST": "h", "PLPROXY": {"SHARDS": [512, 1023]}}}}$$,
  replace => true);
SELECT * FROM shardroute.import_django_settings($${"REPORTING_DATABASES": {
  "ucr": {"WRITE": "ucr", "READ": [["ucr", 1], ["standby1", 1]]}}}$$);
SELECT * FROM shardroute.import_django_settings($${"DATABASES": {
  "s": {"HOST": "h", "STANDBY": {"MASTER": "nowhere"}}}}$$);
SELECT * FROM shardroute.import_django_settings($${"DATABASES": {
  "s2": {"HOST": "h", "STANDBY": {"MASTER": "ucr_standby1"}}}}$$);
SELECT * FROM shardroute.import_django_settings($${"LOAD_BALANCED_APPS": {
  "users": {"WRITE": "default", "READ": [["default", -1]]}}}$$);
SELECT * FROM shardroute.import_django_settings($${"DATABASES": {
  "x": {"HOST": "h", "OPTIONS": {"password": "secret"}}}}$$);
SELECT * FROM shardroute.import_django_settings($${"DATABASE": {}}$$);
SELECT * FROM shardroute.import_django_settings($${"DATABASES": {"x": {"HOST": "h", "HSOT": "h"}}}$$);
SELECT * FROM shardroute.import_django_settings($${"DATABASES": {"x": {"HOST": "h", "PORT": [5432]}}}$$);
SELECT * FROM shardroute.import_django_settings($${"DATABASES": {"x": {"HOST": "h", "PLPROXY": {"SHARDS": [0, 1, 2]}}}}$$);
SELECT * FROM shardroute.import_django_settings($${"REPORTING_DATABASES": {"r": {"WRITE": "ucr", "READ": ["ucr"]}}}$$);
SELECT * FROM shardroute.import_django_settings('[1, 2]');
SELECT * FROM shardroute.import_django_settings((repeat('{"a":', 40) || '1' || repeat('}', 40))::jsonb);
SELECT * FROM shardroute.import_django_settings($${"DATABASES": {"proxy": {"HOST": "h", "PLPROXY": {"PROXY": true}},
  "p1": {"HOST": "h", "PLPROXY": {"SHARDS": [0, 511]}}, "p2": {"HOST": "h", "PLPROXY": {"SHARDS": [512, 2047]}}},
  "PL_PROXY_CLUSTER_NAME": "commcarehq"}$$);
-- a reversed range is an invalid range, whatever the catalog's shard count
SELECT * FROM shardroute.import_django_settings($${"DATABASES": {"proxy": {"HOST": "h", "PLPROXY": {"PROXY": true}},
  "p1": {"HOST": "h", "PLPROXY": {"SHARDS": [0, 9]}}, "p2": {"HOST": "h", "PLPROXY": {"SHARDS": [10, 5]}}}}$$);
-- CommCare refuses SHARDS without a PROXY database, and PLPROXY settings on a standby
SELECT * FROM shardroute.import_django_settings($${"DATABASES": {
  "p1": {"HOST": "h", "PLPROXY": {"SHARDS": [0, 511]}}, "p2": {"HOST": "h", "PLPROXY": {"SHARDS": [512, 1023]}}}}$$);
SELECT * FROM shardroute.import_django_settings($${"DATABASES": {
  "p1s": {"HOST": "h", "STANDBY": {"MASTER": "p1"}, "PLPROXY": {"SHARDS": [0, 204]}}}}$$);
-- PLPROXY_HOST: one host per HOST
SELECT * FROM shardroute.import_django_settings($${"DATABASES": {
  "a": {"HOST": "h", "PLPROXY": {"PLPROXY_HOST": "x"}}, "b": {"HOST": "h", "PLPROXY": {"PLPROXY_HOST": "y"}}}}$$);
-- the legacy PARTITION_DATABASE_CONFIG names databases of DATABASES, and does not mix with PLPROXY
SELECT * FROM shardroute.import_django_settings($${"PARTITION_DATABASE_CONFIG": {
  "shards": {"p9": [0, 1]}, "groups": {"proxy": ["proxy"]}}}$$);
SELECT * FROM shardroute.import_django_settings($${"DATABASES": {"proxy": {"HOST": "h", "PLPROXY": {"PROXY": true}},
  "p1": {"HOST": "h"}}, "PARTITION_DATABASE_CONFIG": {"shards": {"p1": [0, 0]}}}$$);
-- a 10 MB name is quoted by its first 200 bytes and its size
DO $$
BEGIN
    PERFORM shardroute.import_django_settings(
        jsonb_build_object('DATABASES', jsonb_build_object(repeat('n', 10485760), '{"HOST": "h"}'::jsonb)));
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE '% bytes: %', length(SQLERRM), regexp_replace(SQLERRM, 'n{200}', '<200 n>', 'g');
END $$;
-- NULL, or any document that is not an object, changes nothing
SELECT * FROM shardroute.import_django_settings(NULL);
SELECT * FROM shardroute.import_django_settings(NULL, replace => true);
SELECT * FROM shardroute.import_django_settings('null', replace => true);
SELECT * FROM shardroute.import_django_settings('"DATABASES"', replace => NULL);
SELECT shardroute.export_django_settings() = :'exported'::jsonb AS catalog_untouched_by_errors;

-- CommCare's other spellings, imported (export writes the current form):
-- a bare LOAD_BALANCED_APPS list (WRITE: Django's 'default'), an empty READ list, an engine mapped to an
-- alias, and the legacy HQ_ACCEPTABLE_STANDBY_DELAY
SELECT * FROM shardroute.import_django_settings($${
  "DATABASES": {"users_db1": {"HOST": "u1", "NAME": "users"},
                "users_db1_standby": {"HOST": "u1s", "NAME": "users", "HQ_ACCEPTABLE_STANDBY_DELAY": 12,
                                      "STANDBY": {"MASTER": "users_db1"}}},
  "LOAD_BALANCED_APPS": {"users": [["users_db1", 5], ["users_db1_standby", 5]], "groups": []},
  "REPORTING_DATABASES": {"ucr": {"WRITE": "ucr", "READ": []}, "default": "default"}
}$$);
SELECT name, max_lag FROM shardroute.node WHERE name = 'users_db1_standby';
SELECT g.name, g.setting, g.write_node, m.node, m.weight
FROM shardroute.read_group g LEFT JOIN shardroute.read_member m ON m.read_group = g.name
WHERE g.name IN ('users', 'groups', 'ucr', 'default') ORDER BY 1, 4;
SELECT jsonb_pretty(shardroute.export_django_settings() #> '{LOAD_BALANCED_APPS}') AS load_balanced_apps;
SELECT shardroute.export_django_settings() AS exported \gset
SELECT action, count(*) FROM shardroute.import_django_settings(:'exported', replace => true) GROUP BY 1;

-- PLPROXY_HOST through a real PL/Proxy, with CommCare's docker settings: Django reaches every database
-- as HOST 'postgres' (no such host here), PL/Proxy through PLPROXY_HOST (this server's socket)
SELECT split_part(current_setting('unix_socket_directories'), ',', 1) AS sock, current_setting('port') AS port \gset
CREATE DATABASE shardroute_django_p1;
CREATE DATABASE shardroute_django_p2;
\c shardroute_django_p1
CREATE FUNCTION whoami() RETURNS SETOF text LANGUAGE sql AS $$ SELECT current_database()::text $$;
\c shardroute_django_p2
CREATE FUNCTION whoami() RETURNS SETOF text LANGUAGE sql AS $$ SELECT current_database()::text $$;
\c shardroute_django
\set SHOW_CONTEXT never
CREATE EXTENSION plproxy;
SELECT shardroute.drop_cluster('commcarehq'); -- the shard count is fixed for life
SELECT * FROM shardroute.import_django_settings(format($${"DATABASES": {
  "proxy": {"HOST": "postgres", "PORT": %1$s, "NAME": "shardroute_django",
            "PLPROXY": {"PROXY": true, "PLPROXY_HOST": %2$s}},
  "p1": {"HOST": "postgres", "PORT": %1$s, "NAME": "shardroute_django_p1", "PLPROXY": {"SHARDS": [0, 0]}},
  "p2": {"HOST": "postgres", "PORT": %1$s, "NAME": "shardroute_django_p2", "PLPROXY": {"SHARDS": [1, 1]}}}}$$,
  :'port', to_jsonb(:'sock'::text))::jsonb, replace => true);
SELECT name, host, plproxy_host = :'sock' AS plproxy_host_is_the_socket FROM shardroute.node ORDER BY name;
SELECT shardroute.conninfo('p1') ~ '^host=postgres ' AS clients_keep_host;
SELECT shardroute.plproxy_sync('commcarehq');
CREATE USER MAPPING FOR PUBLIC SERVER commcarehq;
CREATE FUNCTION whoami() RETURNS SETOF text LANGUAGE plproxy AS $$ CLUSTER 'commcarehq'; RUN ON ALL; $$;
SELECT * FROM whoami() ORDER BY 1;
SELECT shardroute.export_django_settings() #> '{DATABASES,p1,PLPROXY,PLPROXY_HOST}' = to_jsonb(:'sock'::text)
       AS exported_on_p1;
SELECT shardroute.export_django_settings() AS docker \gset

-- the legacy PARTITION_DATABASE_CONFIG of commcare-hq's testsettings (groups and host_map) says the same
SELECT * FROM shardroute.import_django_settings(format($${"DATABASES": {
  "proxy": {"HOST": "postgres", "PORT": %1$s, "NAME": "shardroute_django"},
  "p1": {"HOST": "postgres", "PORT": %1$s, "NAME": "shardroute_django_p1"},
  "p2": {"HOST": "postgres", "PORT": %1$s, "NAME": "shardroute_django_p2"}},
  "PARTITION_DATABASE_CONFIG": {"shards": {"p1": [0, 0], "p2": [1, 1]},
    "groups": {"main": ["proxy"], "proxy": ["proxy"], "form_processing": ["p1", "p2"]},
    "host_map": {"postgres": %2$s}}}$$,
  :'port', to_jsonb(:'sock'::text))::jsonb, replace => true);
SELECT shardroute.export_django_settings() = :'docker'::jsonb AS same_catalog;

-- alter_node sets and clears it; move_node clears it (the database is somewhere else now)
SELECT shardroute.alter_node('p1', plproxy_host => E'bad\nhost');
SELECT shardroute.alter_node('p1', plproxy_host => 'elsewhere');
SELECT shardroute.export_django_settings();
SELECT shardroute.alter_node('p1', plproxy_host => '');
SELECT name, plproxy_host IS NULL AS cleared FROM shardroute.node WHERE name = 'p1';
SELECT shardroute.alter_node('p1', plproxy_host => :'sock');
SELECT shardroute.move_node('p2', :'sock', :port, 'shardroute_django_p2');
SELECT name, host = :'sock' AS moved, plproxy_host FROM shardroute.node WHERE name = 'p2';
SELECT * FROM whoami() ORDER BY 1;

\c :regress_db
DROP DATABASE shardroute_django WITH (FORCE);
DROP DATABASE shardroute_django_p1 WITH (FORCE);
DROP DATABASE shardroute_django_p2 WITH (FORCE);
