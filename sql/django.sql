-- The Django settings bridge, on the seeds' own settings (as JSON). Runs in a
-- database of its own so the catalog starts empty.
\set SHOW_CONTEXT never
\set regress_db :DBNAME
CREATE DATABASE shardroute_django;
\c shardroute_django
CREATE EXTENSION shardroute;

-- seeds/databases.md: the PLPROXY example (passwords are never imported)
SELECT * FROM shardroute.import_django_settings($${
  "USE_PARTITIONED_DATABASE": true,
  "DATABASES": {
    "proxy": {"ENGINE": "django.db.backends.postgresql_psycopg2", "NAME": "commcarehq_proxy", "USER": "commcarehq",
              "PASSWORD": "commcarehq", "HOST": "pg0", "PORT": "5432", "PLPROXY": {"PROXY": true}},
    "p1": {"ENGINE": "django.db.backends.postgresql_psycopg2", "NAME": "commcarehq_p1", "USER": "commcarehq",
           "PASSWORD": "commcarehq", "HOST": "pg1", "PORT": "5432", "PLPROXY": {"SHARDS": [0, 511]}},
    "p2": {"ENGINE": "django.db.backends.postgresql_psycopg2", "NAME": "commcarehq_p2", "USER": "commcarehq",
           "PASSWORD": "commcarehq", "HOST": "pg2", "PORT": 5432, "PLPROXY": {"SHARDS": [512, 1023]}}
  }
}$$);
SELECT * FROM shardroute.shard_cluster;
SELECT * FROM shardroute.shard_range ORDER BY first_shard;
SELECT name, host, port, dbname, options FROM shardroute.node ORDER BY name;
SELECT shardroute.node_for_key('commcarehq', '403724ef-9fe1-41f2-9083-63918c62c2ff');
SELECT count(*) AS password_in_catalog FROM shardroute.node WHERE options LIKE '%password%';

-- the five-partition layout replaces it
SELECT * FROM shardroute.import_django_settings($${
  "DATABASES": {
    "proxy": {"HOST": "pg0", "NAME": "commcarehq_proxy", "PLPROXY": {"PROXY": true}},
    "p1": {"HOST": "pg1", "NAME": "commcarehq_p1", "PLPROXY": {"SHARDS": [0, 204]}},
    "p2": {"HOST": "pg1", "NAME": "commcarehq_p2", "PLPROXY": {"SHARDS": [205, 409]}},
    "p3": {"HOST": "pg2", "NAME": "commcarehq_p3", "PLPROXY": {"SHARDS": [410, 614]}},
    "p4": {"HOST": "pg2", "NAME": "commcarehq_p4", "PLPROXY": {"SHARDS": [615, 819]}},
    "p5": {"HOST": "pg3", "NAME": "commcarehq_p5", "PLPROXY": {"SHARDS": [820, 1023]}}
  }
}$$, replace => true);
SELECT node, first_shard, last_shard FROM shardroute.shard_range ORDER BY first_shard;

-- STANDBY, REPORTING_DATABASES (READ weights 1/2/2) and LOAD_BALANCED_APPS, merged in
SELECT * FROM shardroute.import_django_settings($${
  "DATABASES": {
    "default": {"HOST": "db0", "NAME": "commcarehq"},
    "standby1": {"HOST": "db0s", "NAME": "commcarehq", "STANDBY": {"MASTER": "default", "ACCEPTABLE_REPLICATION_DELAY": 30}},
    "ucr": {"HOST": "ucr0", "NAME": "commcarehq_ucr"},
    "ucr_standby1": {"HOST": "ucr1", "NAME": "commcarehq_ucr", "STANDBY": {"MASTER": "ucr"}},
    "ucr_standby2": {"HOST": "ucr2", "NAME": "commcarehq_ucr", "STANDBY": {"MASTER": "ucr"}}
  },
  "REPORTING_DATABASES": {
    "default": "default",
    "ucr": {"WRITE": "ucr", "READ": [["ucr", 1], ["ucr_standby1", 2], ["ucr_standby2", 2]]}
  },
  "LOAD_BALANCED_APPS": {
    "users": {"WRITE": "default", "READ": [["default", 1], ["standby1", 4]]}
  }
}$$);
SELECT name, primary_node, max_lag, application_name FROM shardroute.node WHERE primary_node IS NOT NULL ORDER BY name;
SELECT g.name, g.setting, g.write_node, m.node, m.weight
FROM shardroute.read_group g LEFT JOIN shardroute.read_member m ON m.read_group = g.name ORDER BY 1, 4;

-- seeds/citus-setup.md: ROLE and CITUS_NODE_NAME
SELECT * FROM shardroute.import_django_settings($${
  "DATABASES": {
    "icds-ucr": {"ENGINE": "django.db.backends.postgresql_psycopg2", "DISABLE_SERVER_SIDE_CURSORS": true,
                 "NAME": "commcare_ucr_citus", "USER": "commcarehq", "PASSWORD": "commcarehq", "HOST": "localhost",
                 "PORT": "5600", "TEST": {"SERIALIZE": false, "DEPENDENCIES": ["citus-ucr-worker1", "citus-ucr-worker2"]},
                 "ROLE": "citus_master"},
    "citus-ucr-worker1": {"ENGINE": "django.db.backends.postgresql_psycopg2", "DISABLE_SERVER_SIDE_CURSORS": true,
                          "NAME": "commcare_ucr_citus", "USER": "commcarehq", "PASSWORD": "", "HOST": "localhost",
                          "PORT": "5601", "TEST": {"SERIALIZE": false}, "ROLE": "citus_worker",
                          "CITUS_NODE_NAME": "citus_worker1:5432"},
    "citus-ucr-worker2": {"ENGINE": "django.db.backends.postgresql_psycopg2", "DISABLE_SERVER_SIDE_CURSORS": true,
                          "NAME": "commcare_ucr_citus", "USER": "commcarehq", "PASSWORD": "", "HOST": "localhost",
                          "PORT": "5602", "TEST": {"SERIALIZE": false}, "ROLE": "citus_worker",
                          "CITUS_NODE_NAME": "citus_worker2:5432"}
  },
  "REPORTING_DATABASES": {"icds-ucr-citus": "icds-ucr"}
}$$);
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
SELECT * FROM shardroute.import_django_settings($${"DATABASES": {
  "p1": {"HOST": "h", "PLPROXY": {"SHARDS": [0, 511]}}, "p2": {"HOST": "h", "PLPROXY": {"SHARDS": [512, 1000]}}},
  "PL_PROXY_CLUSTER_NAME": "other"}$$, replace => true);
SELECT * FROM shardroute.import_django_settings($${"DATABASES": {
  "p1": {"HOST": "h", "PLPROXY": {"SHARDS": [0, 500]}}, "p2": {"HOST": "h", "PLPROXY": {"SHARDS": [512, 1023]}}}}$$,
  replace => true);
SELECT * FROM shardroute.import_django_settings($${"DATABASES": {
  "p1": {"HOST": "h", "PLPROXY": {"SHARDS": [0, 600]}}, "p2": {"HOST": "h", "PLPROXY": {"SHARDS": [512, 1023]}}}}$$,
  replace => true);
SELECT * FROM shardroute.import_django_settings($${"DATABASES": {
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
SELECT * FROM shardroute.import_django_settings($${"DATABASES": {
  "p1": {"HOST": "h", "PLPROXY": {"SHARDS": [0, 511]}}, "p2": {"HOST": "h", "PLPROXY": {"SHARDS": [512, 2047]}}},
  "PL_PROXY_CLUSTER_NAME": "commcarehq"}$$);
SELECT shardroute.export_django_settings() = :'exported'::jsonb AS catalog_untouched_by_errors;

\c :regress_db
DROP DATABASE shardroute_django;
