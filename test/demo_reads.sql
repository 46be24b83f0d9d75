\pset footer off
\echo
\echo '--- 5. A read group as in REPORTING_DATABASES: WRITE ucr, READ [(ucr, 1), (ucr_standby1, 2), (ucr_standby2, 2)]'
SELECT * FROM shardroute.import_django_settings(format($${
  "DATABASES": {
    "ucr": {"HOST": %1$s, "PORT": %2$s, "NAME": "postgres"},
    "ucr_standby1": {"HOST": %1$s, "PORT": %3$s, "NAME": "postgres", "STANDBY": {"MASTER": "ucr", "ACCEPTABLE_REPLICATION_DELAY": 1}},
    "ucr_standby2": {"HOST": %1$s, "PORT": %4$s, "NAME": "postgres", "STANDBY": {"MASTER": "ucr", "ACCEPTABLE_REPLICATION_DELAY": 1}}
  },
  "REPORTING_DATABASES": {"ucr": {"WRITE": "ucr", "READ": [["ucr", 1], ["ucr_standby1", 2], ["ucr_standby2", 2]]}}
}$$, to_jsonb(:'here'::text), to_jsonb(:'port'::text), to_jsonb((:port + 1)::text), to_jsonb((:port + 2)::text))::jsonb);
