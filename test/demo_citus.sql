\pset footer off
\echo
\echo '--- 10. Citus: the registration plan for a coordinator and two workers, as a dry run (works without Citus)'
SELECT * FROM shardroute.import_django_settings($${"DATABASES": {
  "icds-ucr": {"HOST": "localhost", "PORT": "5600", "NAME": "commcare_ucr_citus", "ROLE": "citus_master"},
  "citus-ucr-worker1": {"HOST": "localhost", "PORT": "5601", "NAME": "commcare_ucr_citus", "ROLE": "citus_worker",
                        "CITUS_NODE_NAME": "citus_worker1:5432"},
  "citus-ucr-worker2": {"HOST": "localhost", "PORT": "5602", "NAME": "commcare_ucr_citus", "ROLE": "citus_worker",
                        "CITUS_NODE_NAME": "citus_worker2:5432"}}}$$);
SELECT * FROM shardroute.citus_register(dry_run => true);

\echo
\echo '--- 11. Preflight for create_distributed_table on Django models that broke on Citus'
CREATE TABLE auth_user (id serial PRIMARY KEY, username text);
CREATE TABLE ads_company (id serial PRIMARY KEY, name varchar(512), created_at timestamptz, updated_at timestamptz);
CREATE TABLE ads_campaign (id serial PRIMARY KEY, name varchar(512), company_id int NOT NULL REFERENCES ads_company (id),
                           created_at timestamptz, updated_at timestamptz, UNIQUE (id, company_id));
CREATE TABLE ads_company_users (id serial PRIMARY KEY, company_id int NOT NULL REFERENCES ads_company (id),
                                user_id int NOT NULL REFERENCES auth_user (id), UNIQUE (company_id, user_id));
\x on
\echo 'create_distributed_table(''ads_campaign'', ''company_id'') would fail because:'
SELECT * FROM shardroute.citus_check_table('ads_campaign', 'company_id');
\echo 'create_distributed_table(''ads_company'', ''id'') would fail because:'
SELECT * FROM shardroute.citus_check_table('ads_company', 'id');
\x off
