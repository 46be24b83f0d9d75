\pset footer off
\set ON_ERROR_STOP 1
CREATE EXTENSION shardroute;

\echo
\echo '--- 1. The CommCare shard hash, byte-exact with pghashlib hash_string(id, ''siphash24'')'
\echo '       shard = hash & (1024 - 1); two partitions p1 = shards [0,511], p2 = [512,1023]'
SELECT id AS document_id,
       shardroute.hash_string(id::text, 'siphash24') AS hash,
       shardroute.hash_string(id::text, 'siphash24') & 1023 AS shard,
       CASE WHEN shardroute.hash_string(id::text, 'siphash24') & 1023 <= 511 THEN 'p1' ELSE 'p2' END AS partition
FROM (VALUES ('403724ef-9fe1-41f2-9083-63918c62c2ff'::uuid), ('c0ffee00-1b2c-4d5e-8f90-0123456789ab'),
             ('8d3e2f1a-4b5c-4d6e-9f70-8192a3b4c5d6'), ('f47ac10b-58cc-4372-a567-0e02b2c3d479'),
             ('a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d'), ('6ba7b810-9dad-11d1-80b4-00c04fd430c8')) ids(id);

\echo
\echo '--- 2. The fleet''s Django settings, imported into the catalog (passwords are never stored)'
SELECT * FROM shardroute.import_django_settings($${
  "DATABASES": {
    "proxy": {"HOST": "pg0", "PORT": "5432", "NAME": "commcarehq_proxy", "USER": "commcarehq", "PASSWORD": "secret",
              "PLPROXY": {"PROXY": true}},
    "p1": {"HOST": "pg1", "PORT": "5432", "NAME": "commcarehq_p1", "USER": "commcarehq", "PLPROXY": {"SHARDS": [0, 204]}},
    "p2": {"HOST": "pg1", "PORT": "5432", "NAME": "commcarehq_p2", "USER": "commcarehq", "PLPROXY": {"SHARDS": [205, 409]}},
    "p3": {"HOST": "pg2", "PORT": "5432", "NAME": "commcarehq_p3", "USER": "commcarehq", "PLPROXY": {"SHARDS": [410, 614]}},
    "p4": {"HOST": "pg2", "PORT": "5432", "NAME": "commcarehq_p4", "USER": "commcarehq", "PLPROXY": {"SHARDS": [615, 819]}},
    "p5": {"HOST": "pg3", "PORT": "5432", "NAME": "commcarehq_p5", "USER": "commcarehq", "PLPROXY": {"SHARDS": [820, 1023]}}
  },
  "PL_PROXY_CLUSTER_NAME": "commcarehq"
}$$);
SELECT node, first_shard, last_shard, shardroute.conninfo(node) AS conninfo
FROM shardroute.shard_range ORDER BY first_shard;

\echo
\echo '--- 3. Which database holds each document: node_for_key, from a cache the catalog invalidates'
SELECT id AS document_id, shardroute.shard_for_key('commcarehq', id::text) AS shard,
       shardroute.node_for_key('commcarehq', id::text) AS node
FROM (VALUES ('403724ef-9fe1-41f2-9083-63918c62c2ff'::uuid), ('c0ffee00-1b2c-4d5e-8f90-0123456789ab'),
             ('8d3e2f1a-4b5c-4d6e-9f70-8192a3b4c5d6'), ('f47ac10b-58cc-4372-a567-0e02b2c3d479'),
             ('a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d'), ('6ba7b810-9dad-11d1-80b4-00c04fd430c8')) ids(id);
\echo 'and many at once, grouped by database:'
SELECT node, cardinality(keys) AS documents
FROM shardroute.route_keys('commcarehq', ARRAY(SELECT md5(i::text)::uuid::text FROM generate_series(1, 10000) i))
ORDER BY node;

\echo
\echo '--- 4. Every rule is enforced: a settings file with a gap is refused, naming the setting'
\set ON_ERROR_STOP 0
SELECT * FROM shardroute.import_django_settings($${"DATABASES": {"proxy": {"HOST": "pg0", "PLPROXY": {"PROXY": true}},
  "p1": {"HOST": "pg1", "PLPROXY": {"SHARDS": [0, 500]}}, "p2": {"HOST": "pg2", "PLPROXY": {"SHARDS": [512, 1023]}}}}$$,
  replace => true);
\set ON_ERROR_STOP 1
SELECT count(*) AS problems_in_catalog FROM shardroute.check_topology();
