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

-- A row whose problem starts with "warning: " does not block the call; it names
-- what fails afterwards. Every other row is a reason Citus refuses the table.
-- Campaign distributed by company_id keeps Django's implicit id primary key
SELECT * FROM shardroute.citus_check_table('ads_campaign', 'company_id');
-- a foreign key to a table that is not distributed
SELECT * FROM shardroute.citus_check_table('ads_ads', 'id');
-- a reference table referencing local tables: SET NULL refused, NO ACTION accepted with a warning
SELECT * FROM shardroute.citus_check_table('ads_ads', reference => true);
-- a foreign key action Citus refuses on the distribution column
SELECT problem FROM shardroute.citus_check_table('ads_ads', 'company_id') ORDER BY 1;
-- company.users many-to-many table, and other local tables, left referencing ads_company: warnings
SELECT * FROM shardroute.citus_check_table('ads_company', 'id');
-- no distribution column, and an unknown one
SELECT problem FROM shardroute.citus_check_table('ads_company');
SELECT problem FROM shardroute.citus_check_table('ads_company', 'nope');
-- a table Citus accepts: its keys include the distribution column, no foreign keys;
-- Django's save() still sets company_id, which Citus refuses on an UPDATE
CREATE TABLE ads_report (company_id int, id int, body text, PRIMARY KEY (company_id, id));
SELECT problem FROM shardroute.citus_check_table('ads_report', 'company_id');
-- auth_user as a reference table: the through table becomes a Citus local table
SELECT problem, detail FROM shardroute.citus_check_table('auth_user', reference => true);
-- what else Citus refuses: a unique index, an exclusion constraint without equality on the
-- distribution column, a trigger, a type without hashing, a partition, a partitioned reference table
CREATE TABLE ads_click (company_id int, id int, slug text, during tstzrange, at point, place_at ads_report,
                        PRIMARY KEY (company_id, id), EXCLUDE USING gist (during WITH &&));
CREATE UNIQUE INDEX ads_click_slug ON ads_click (lower(slug)) WHERE slug <> '';
CREATE UNIQUE INDEX ads_click_company_slug ON ads_click (slug) INCLUDE (company_id);
CREATE FUNCTION ads_click_audit() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER ads_click_audit BEFORE INSERT ON ads_click FOR EACH ROW EXECUTE FUNCTION ads_click_audit();
SELECT problem, detail FROM shardroute.citus_check_table('ads_click', 'company_id');
SELECT problem, detail FROM shardroute.citus_check_table('ads_click', 'at') WHERE problem LIKE '%hash%';
-- a composite distribution column holding a point: accepted, every INSERT fails
CREATE TYPE ads_place AS (label text, at point);
CREATE TABLE ads_visit (id int, place ads_place);
SELECT problem, detail FROM shardroute.citus_check_table('ads_visit', 'place');
CREATE TABLE ads_event (company_id int, created date) PARTITION BY RANGE (created);
CREATE TABLE ads_event_2024 PARTITION OF ads_event FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
SELECT problem FROM shardroute.citus_check_table('ads_event', 'company_id');
SELECT problem FROM shardroute.citus_check_table('ads_event', reference => true);
SELECT problem FROM shardroute.citus_check_table('ads_event_2024', 'company_id');
SELECT * FROM shardroute.citus_check_table('no_such_table');

\c :regress_db
DROP DATABASE shardroute_citus;
