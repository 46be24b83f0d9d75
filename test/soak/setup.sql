-- make soak: the catalog, the three topology states the changer cycles
-- through, the logs, and the PL/pgSQL callers. See test/soak/soak.sh.
CREATE EXTENSION shardroute;
BEGIN;
SELECT shardroute.add_node(n, n || '.db', 5432, 'commcarehq_' || n) FROM unnest(ARRAY['p1', 'p2', 'p3', 'w1', 'm1', 'm2']) n;
SELECT shardroute.add_standby('s1', 'm1', 's1.db', 5432, 'commcarehq_m1');
SELECT shardroute.create_cluster('soak', 1024);
SELECT shardroute.assign_shards('soak', 'p1', 0, 511);
SELECT shardroute.assign_shards('soak', 'p2', 512, 1023);
SELECT shardroute.create_read_group('rg', 'w1');
SELECT shardroute.set_read_weight('rg', 'm1', 1);
SELECT shardroute.set_read_weight('rg', 's1', 3);
COMMIT;

-- One row per committed topology version: l = clock before its COMMIT, u =
-- clock once its COMMIT returned. Version k can be what a backend sees from
-- l(k) until u(k+1); nothing else is allowed.
CREATE TABLE soak_version (seq int PRIMARY KEY, state int NOT NULL, l timestamptz NOT NULL, u timestamptz);
-- What the catalog said in each version (copied from it inside the changing transaction).
CREATE TABLE soak_range (seq int, node text, first_shard int, last_shard int);
CREATE TABLE soak_member (seq int, node text, eligible bool);
CREATE TABLE soak_group (seq int, write_node text);

-- Answers: t_s = statement_timestamp() (before the statement's transaction
-- started), t_e = clock after the answer was computed.
CREATE UNLOGGED TABLE soak_answer (kind text NOT NULL, key text, shard int, answer text, t_s timestamptz NOT NULL,
                                   t_e timestamptz NOT NULL);

CREATE FUNCTION soak_snapshot(v int) RETURNS void LANGUAGE sql AS $$
    INSERT INTO soak_range SELECT v, node, first_shard, last_shard FROM shardroute.shard_range WHERE cluster = 'soak';
    INSERT INTO soak_member SELECT v, m.node, n.primary_node IS NULL FROM shardroute.read_member m
        JOIN shardroute.node n ON n.name = m.node WHERE m.read_group = 'rg';
    INSERT INTO soak_group SELECT v, write_node FROM shardroute.read_group WHERE name = 'rg';
$$;
INSERT INTO soak_version VALUES (0, 0, '-infinity', clock_timestamp());
SELECT soak_snapshot(0);

-- state 0: p1 [0,511] p2 [512,1023]; rg READ m1 1, s1 3 (a standby that is not
--          connected: never eligible), so m1
-- state 1: p1 [0,255] p3 [256,511] p2 [512,1023] (and node tmp); rg READ m2 1
-- state 2: p1 [0,255] p3 [256,767] p2 [768,1023] (tmp dropped); rg READ empty: WRITE w1
CREATE FUNCTION soak_apply(s int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF s = 1 THEN
        PERFORM shardroute.add_node('tmp', 'tmp.db');
        PERFORM shardroute.assign_shards('soak', 'p3', 256, 511);
        PERFORM shardroute.set_read_weight('rg', 'm1', 0);
        PERFORM shardroute.set_read_weight('rg', 's1', 0);
        PERFORM shardroute.set_read_weight('rg', 'm2', 1);
    ELSIF s = 2 THEN
        PERFORM shardroute.assign_shards('soak', 'p3', 512, 767);
        PERFORM shardroute.set_read_weight('rg', 'm2', 0);
        PERFORM shardroute.drop_node('tmp');
    ELSE
        PERFORM shardroute.assign_shards('soak', 'p1', 256, 511);
        PERFORM shardroute.assign_shards('soak', 'p2', 512, 767);
        PERFORM shardroute.set_read_weight('rg', 'm1', 1);
        PERFORM shardroute.set_read_weight('rg', 's1', 3);
    END IF;
END $$;

-- The topology changer: a new version every 10-20 ms for `seconds`, each its own transaction.
CREATE PROCEDURE soak_changer(seconds float8) LANGUAGE plpgsql AS $$
DECLARE
    stop timestamptz := clock_timestamp() + seconds * interval '1 second';
    v int := 0;
    step_start timestamptz;
BEGIN
    WHILE clock_timestamp() < stop LOOP
        step_start := clock_timestamp();
        v := v + 1;
        PERFORM soak_apply(v % 3);
        PERFORM soak_snapshot(v);
        INSERT INTO soak_version VALUES (v, v % 3, clock_timestamp());
        COMMIT;
        UPDATE soak_version SET u = clock_timestamp() WHERE seq = v;
        COMMIT;
        -- the next change 10-20 ms after this one started
        PERFORM pg_sleep(greatest(0, 0.010 + random() * 0.010 - extract(epoch FROM clock_timestamp() - step_start)));
    END LOOP;
END $$;

-- PL/pgSQL callers: lookups in a loop inside one function call.
CREATE FUNCTION soak_plpgsql_nodes(n int) RETURNS TABLE (key text, answer text, t_e timestamptz) LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..5 LOOP
        key := md5((n + i)::text);
        answer := shardroute.node_for_key('soak', key);
        t_e := clock_timestamp();
        RETURN NEXT;
    END LOOP;
END $$;
CREATE FUNCTION soak_plpgsql_shard(s int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE a text;
BEGIN
    a := shardroute.node_for_shard('soak', s);
    RETURN a;
END $$;
