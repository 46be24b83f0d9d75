-- Paths users take that the direct calls do not: PL/pgSQL variables, rules that
-- must hold whatever statement fires them, NULL arguments, absurd sizes, a
-- hostile search_path and roles that are not superuser.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS shardroute;
RESET client_min_messages;
BEGIN;
SELECT shardroute.add_node('ha', 'host-a'), shardroute.add_node('hb', 'host-b');
SELECT shardroute.create_cluster('a', 4), shardroute.create_cluster('b', 4);
SELECT shardroute.assign_shards('a', 'ha', 0, 3), shardroute.assign_shards('b', 'hb', 0, 3);
SELECT shardroute.create_read_group('ga', 'ha'), shardroute.create_read_group('gb', 'hb');
SELECT shardroute.set_read_weight('ga', 'ha', 1), shardroute.set_read_weight('gb', 'hb', 1);
COMMIT;

-- A PL/pgSQL variable is a parameter, not a constant: each call answers for its own name.
CREATE FUNCTION owner_of(c text, k text) RETURNS text LANGUAGE plpgsql AS
$$BEGIN RETURN shardroute.node_for_key(c, k); END$$;
SELECT owner_of('a', 'k') AS in_a, owner_of('b', 'k') AS in_b;
CREATE FUNCTION shard_of(c text, s int) RETURNS text LANGUAGE plpgsql AS
$$BEGIN RETURN shardroute.node_for_shard(c, s); END$$;
SELECT shard_of('a', 1) AS in_a, shard_of('b', 1) AS in_b;
CREATE FUNCTION read_of(g text) RETURNS text LANGUAGE plpgsql AS
$$BEGIN RETURN shardroute.choose_read_node(g); END$$;
SELECT read_of('ga') AS ga, read_of('gb') AS gb;
DO $$
DECLARE alg text; got int4[] := '{}';
BEGIN
    FOREACH alg IN ARRAY ARRAY['siphash24', 'hashtext', 'siphash24'] LOOP
        got := got || shardroute.hash_string('hello', alg);
    END LOOP;
    RAISE NOTICE 'siphash24 %, hashtext %, siphash24 % (hashtext() = %)', got[1], got[2], got[3], hashtext('hello');
END $$;
-- the same call site in a query over rows of different names
SELECT c, shardroute.node_for_key(c, 'k') FROM (VALUES ('a'), ('b'), ('a')) v(c);

-- Later statements of one Query message (psql's \;) and of a DO block see what another
-- session (dblink) committed after the first statement ran.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;
RESET client_min_messages;
SELECT format('host=%s port=%s dbname=%s', split_part(current_setting('unix_socket_directories'), ',', 1),
              current_setting('port'), current_database()) AS other_session \gset
SET shardroute_test.other_session = :'other_session';
SELECT shardroute.node_for_shard('a', 1) AS before \; SELECT count(*) AS committed_elsewhere FROM dblink(:'other_session', $$SELECT shardroute.assign_shards('a', 'hb', 0, 3)::text$$) AS t(r text) \; SELECT shardroute.node_for_shard('a', 1) AS after;
DO $$
BEGIN
    RAISE NOTICE 'before: %', shardroute.node_for_shard('a', 1);
    PERFORM * FROM dblink(current_setting('shardroute_test.other_session'),
                          $q$SELECT shardroute.assign_shards('a', 'ha', 0, 3)::text$q$) AS t(r text);
    RAISE NOTICE 'after: %', shardroute.node_for_shard('a', 1);
END $$;
-- A cluster with no shard ranges is reported, not only found at lookup time.
SELECT shardroute.create_cluster('empty', 4);
SELECT * FROM shardroute.check_topology();
SELECT shardroute.node_for_key('empty', 'k');
SELECT shardroute.drop_cluster('empty');

-- The COMMIT-time check sees the statement that fired it.
-- autocommit DELETE by the owner that leaves a gap: refused, nothing changes
BEGIN;
SELECT shardroute.create_cluster('two', 4);
SELECT shardroute.assign_shards('two', 'ha', 0, 1), shardroute.assign_shards('two', 'hb', 2, 3);
COMMIT;
DELETE FROM shardroute.shard_range WHERE cluster = 'two' AND node = 'hb';
SELECT node, first_shard, last_shard FROM shardroute.shard_range WHERE cluster = 'two' ORDER BY first_shard;
SELECT shardroute.drop_cluster('two');
-- a constraint made IMMEDIATE checks the statement itself, and COMMIT checks again
BEGIN;
SET CONSTRAINTS ALL IMMEDIATE;
INSERT INTO shardroute.read_group (name, write_node) VALUES ('g_bad', 'no_such_node');
COMMIT;
SELECT count(*) AS g_bad_groups FROM shardroute.read_group WHERE name = 'g_bad';
-- ROLLBACK TO brings back a change that an earlier check had seen undone: COMMIT checks again
BEGIN;
INSERT INTO shardroute.read_group (name, write_node) VALUES ('g_bad', 'no_such_node');
SAVEPOINT s;
SELECT shardroute.drop_read_group('g_bad');
SET CONSTRAINTS ALL IMMEDIATE;
ROLLBACK TO s;
COMMIT;
SELECT count(*) AS g_bad_groups FROM shardroute.read_group WHERE name = 'g_bad';
-- the same with an EXCEPTION block, by the owner, on shard ranges
BEGIN;
SELECT shardroute.create_cluster('sp', 4);
SELECT shardroute.assign_shards('sp', 'ha', 0, 1), shardroute.assign_shards('sp', 'hb', 2, 3);
COMMIT;
BEGIN;
DELETE FROM shardroute.shard_range WHERE cluster = 'sp' AND node = 'hb';
DO $$
BEGIN
    INSERT INTO shardroute.shard_range VALUES ('sp', 'hb', 2, 3);
    SET CONSTRAINTS ALL IMMEDIATE;
    RAISE EXCEPTION 'undo the repair';
EXCEPTION WHEN raise_exception THEN NULL;
END $$;
COMMIT;
SELECT node, first_shard, last_shard FROM shardroute.shard_range WHERE cluster = 'sp' ORDER BY first_shard;
SELECT shardroute.drop_cluster('sp');
-- ... so a later valid change still commits
SELECT shardroute.create_read_group('g_ok', 'ha');
SELECT shardroute.drop_read_group('g_ok');

-- TRUNCATE would skip every rule: refused on each catalog table.
TRUNCATE shardroute.shard_range;
TRUNCATE shardroute.node CASCADE;
TRUNCATE shardroute.read_member;
SELECT count(*) AS ranges_left FROM shardroute.shard_range WHERE cluster IN ('a', 'b');

-- NULL means the default, never "force".
SELECT shardroute.drop_node('ha', NULL);
SELECT count(*) AS ha_left FROM shardroute.node WHERE name = 'ha';

-- Absurd values: a clear error that names the limit, never an internal one.
SELECT shardroute.add_standby('sb_years', 'ha', 'h', max_lag => '100000000 years');
SELECT shardroute.add_standby('sb_neg', 'ha', 'h', max_lag => '-1 second');
SELECT shardroute.set_read_weight('ga', 'ha', 1e-320);
SELECT shardroute.set_read_weight('ga', 'ha', 1e308);
SELECT shardroute.set_read_weight('ga', 'ha', 1);
SELECT shardroute.citus_check_table(NULL);
-- the owner's raw rows go through the same row rules (no internal errors)
INSERT INTO shardroute.read_member VALUES ('ga', 'hb', 'NaN');
INSERT INTO shardroute.read_member VALUES ('ga', 'hb', '-Infinity');
INSERT INTO shardroute.node (name, host, port) VALUES ('hx', 'h', NULL);
-- a 100 kB name is quoted shortly in the error, not echoed whole
DO $$
DECLARE m text; d text;
BEGIN
    PERFORM shardroute.node_for_key(repeat('x', 100000), 'k');
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL;
    RAISE NOTICE 'node_for_key: message of % bytes, detail short: %', length(m), length(d) < 1000;
END $$;
DO $$
DECLARE m text; d text;
BEGIN
    PERFORM shardroute.add_node(repeat('y', 100000), 'h');
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL;
    RAISE NOTICE 'add_node: message of % bytes, detail short: %', length(m), coalesce(length(d), 0) < 1000;
END $$;

DO $$
DECLARE m text;
BEGIN
    PERFORM shardroute.drop_node(repeat('z', 100000));
EXCEPTION WHEN undefined_object THEN
    GET STACKED DIAGNOSTICS m = MESSAGE_TEXT;
    RAISE NOTICE 'drop_node: %', m;
END $$;

-- A hostile search_path: a schema anyone can write, listed before pg_catalog,
-- must not reach the code that loads the catalog (lookups, triggers, COMMIT checks).
CREATE ROLE shardroute_attacker;
CREATE SCHEMA evil AUTHORIZATION shardroute_attacker;
SET ROLE shardroute_attacker;
CREATE FUNCTION evil.pwn() RETURNS boolean LANGUAGE plpgsql AS
$$BEGIN RAISE NOTICE 'attacker code ran as %', current_user; RETURN true; END$$;
CREATE DOMAIN evil.text AS pg_catalog.text CHECK (evil.pwn());
CREATE FUNCTION evil.jsonb(x anyelement) RETURNS pg_catalog.jsonb LANGUAGE plpgsql AS
$$BEGIN RAISE NOTICE 'attacker cast ran as %', current_user; RETURN '{}'; END$$;
CREATE FUNCTION evil.text(pg_catalog.jsonb) RETURNS pg_catalog.text LANGUAGE plpgsql AS
$$BEGIN RAISE NOTICE 'attacker function ran as %', current_user; RETURN '{}'; END$$;
RESET ROLE;
SET search_path = evil, pg_catalog, public;
SELECT shardroute.add_node('hc', 'host-c');
SELECT shardroute.node_for_key('a', 'k');
SELECT shardroute.assign_shards('a', 'hc', 0, 0);
SELECT shardroute.assign_shards('a', 'ha', 0, 0);
SELECT count(*) AS problems FROM shardroute.check_topology();
SELECT shardroute.drop_node('hc');
RESET search_path;
DROP SCHEMA evil CASCADE;
DROP ROLE shardroute_attacker;
