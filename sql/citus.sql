-- Citus, on a server without Citus (it is not packaged for Debian): the
-- registration plan as a dry run, the error without Citus, and every table
-- check on Django models that broke on Citus (company, users and their
-- many-to-many table). Runs in its own database.
\set SHOW_CONTEXT never
\set regress_db :DBNAME
CREATE DATABASE shardroute_citus;
\c shardroute_citus
\set SHOW_CONTEXT never
CREATE EXTENSION shardroute;

-- the Citus setup: the coordinator and two workers reached as citus_worker1/2:5432
SELECT * FROM shardroute.import_django_settings($${"DATABASES": {
  "icds-ucr": {"HOST": "localhost", "PORT": "5600", "NAME": "commcare_ucr_citus", "ROLE": "citus_master"},
  "citus-ucr-worker1": {"HOST": "localhost", "PORT": "5601", "NAME": "commcare_ucr_citus", "ROLE": "citus_worker",
                        "CITUS_NODE_NAME": "citus_worker1:5432"},
  "citus-ucr-worker2": {"HOST": "localhost", "PORT": "5602", "NAME": "commcare_ucr_citus", "ROLE": "citus_worker",
                        "CITUS_NODE_NAME": "citus_worker2:5432"}}}$$);
SELECT * FROM shardroute.citus_register(dry_run => true);
-- a worker without CITUS_NODE_NAME is added by its own host and port; quotes are quoted
SELECT shardroute.add_node('w3', $$it's-a-host$$, 6543, 'commcare_ucr_citus', citus_role => 'worker');
SELECT * FROM shardroute.citus_register(dry_run => true) WHERE node = 'w3';
SELECT shardroute.drop_node('w3');

-- without Citus
SELECT * FROM shardroute.citus_register();
SELECT * FROM shardroute.citus_drift();
SELECT shardroute.add_node('second-coordinator', 'h', citus_role => 'coordinator');
SELECT * FROM shardroute.citus_register(dry_run => true);
SELECT shardroute.drop_node('second-coordinator');

-- Django models that broke on Citus (an ads app) and Django's user table
CREATE TABLE auth_user (id serial PRIMARY KEY, username text);
CREATE TABLE ads_company (id serial PRIMARY KEY, name varchar(512), created_at timestamptz, updated_at timestamptz);
CREATE TABLE ads_campaign (id serial PRIMARY KEY, name varchar(512),
                           company_id int NOT NULL REFERENCES ads_company (id) DEFERRABLE INITIALLY DEFERRED,
                           created_at timestamptz, updated_at timestamptz, UNIQUE (id, company_id));
CREATE TABLE ads_company_users (id serial PRIMARY KEY,
                                company_id int NOT NULL REFERENCES ads_company (id),
                                user_id int NOT NULL REFERENCES auth_user (id), UNIQUE (company_id, user_id));
CREATE TABLE ads_ads (id serial PRIMARY KEY, campaign_id int REFERENCES ads_campaign (id),
                      company_id int REFERENCES ads_company (id) ON DELETE SET NULL);

-- Campaign distributed by company_id keeps Django's implicit id primary key
SELECT * FROM shardroute.citus_check_table('ads_campaign', 'company_id');
-- a foreign key to a table that is not distributed
SELECT * FROM shardroute.citus_check_table('ads_ads', 'id');
-- a reference table with a foreign key to a non-reference table
SELECT * FROM shardroute.citus_check_table('ads_ads', reference => true);
-- a foreign key action Citus refuses on the distribution column
SELECT problem FROM shardroute.citus_check_table('ads_ads', 'company_id') ORDER BY 1;
-- company.users many-to-many table not distributed with ads_company
SELECT * FROM shardroute.citus_check_table('ads_company', 'id');
-- no distribution column, and an unknown one
SELECT problem FROM shardroute.citus_check_table('ads_company');
SELECT problem FROM shardroute.citus_check_table('ads_company', 'nope');
-- a table Citus accepts: its keys include the distribution column, no foreign keys
CREATE TABLE ads_report (company_id int, id int, body text, PRIMARY KEY (company_id, id));
SELECT count(*) AS problems FROM shardroute.citus_check_table('ads_report', 'company_id');
SELECT count(*) AS problems FROM shardroute.citus_check_table('auth_user', reference => true);
SELECT * FROM shardroute.citus_check_table('no_such_table');

\c :regress_db
DROP DATABASE shardroute_citus;
