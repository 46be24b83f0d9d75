\pset footer off
\echo
\echo '--- 9. An online split: half of p1''s shards (103..204) move to a copy of commcarehq_p1 while a writer runs'
\echo 'The copy is ucr_standby2''s server (a streaming standby of this whole server, so it holds commcarehq_p1).'
SELECT shardroute.add_sharded_table('commcarehq', 'cases', 'case_id');
SELECT shardroute.add_standby('p1_copy', 'p1', :'s2', :s2port, 'commcarehq_p1');
-- the writer: save_case() through PL/Proxy, every call logged with its outcome
CREATE TABLE demo_writes (case_id text, shard int, ok bool, sqlstate text, at timestamptz);
CREATE PROCEDURE demo_writer(seconds float8) LANGUAGE plpgsql AS $$
DECLARE
    stop timestamptz := clock_timestamp() + make_interval(secs => seconds);
    id text;
BEGIN
    WHILE clock_timestamp() < stop LOOP
        id := gen_random_uuid()::text;
        BEGIN
            PERFORM save_case(id);
            INSERT INTO demo_writes VALUES (id, shardroute.shard_for_key('commcarehq', id), true, NULL, clock_timestamp());
        EXCEPTION WHEN OTHERS THEN
            INSERT INTO demo_writes VALUES (id, shardroute.shard_for_key('commcarehq', id), false, SQLSTATE, clock_timestamp());
        END;
        COMMIT;
    END LOOP;
END $$;
