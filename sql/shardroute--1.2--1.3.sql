-- shardroute 1.2 -> 1.3: fencing for online moves and splits. test/t/010_upgrade.pl
-- checks that the result equals a fresh install of 1.3, member by member.
\echo Use "ALTER EXTENSION shardroute UPDATE TO '1.3'" to load this file. \quit

-- This session must run the library installed with this script: a server that
-- preloads shardroute (or a session that already called it) keeps the old one
-- until it restarts, and the old one has no fence guard.
DO $$
BEGIN
    CREATE FUNCTION pg_temp.shardroute_library_check() RETURNS trigger
        AS 'MODULE_PATHNAME', 'shardroute_fence_guard' LANGUAGE C;
    DROP FUNCTION pg_temp.shardroute_library_check();
EXCEPTION WHEN undefined_function THEN
    RAISE EXCEPTION 'this session runs an older shardroute library than the one installed'
        USING ERRCODE = 'object_not_in_prerequisite_state',
        HINT = 'Restart the server if it preloads shardroute (shared_preload_libraries), else open a new session; then ALTER EXTENSION shardroute UPDATE.';
END $$;

-- The misplaced-row clean-up deletes by heap block ranges (one scan in all,
-- however many batches) and counts rows per shard in one pass.
DROP FUNCTION @extschema@._partition_delete(text, text, text, text, int4[], int4);
CREATE FUNCTION @extschema@._partition_delete(cluster text, node text, table_name text, key_column text,
                                              shards int4[], batch int4, from_block int8, misplaced int8,
                                              OUT deleted int8, OUT next_block int8)
    AS 'MODULE_PATHNAME', 'shardroute_partition_delete' LANGUAGE C VOLATILE STRICT;
-- on the partition databases: rows per shard in one pass (_partition_counts)
CREATE FUNCTION @extschema@._shard_counts_accum(state internal, hash int4, shard_count int4) RETURNS internal
    AS 'MODULE_PATHNAME', 'shardroute_shard_counts_accum' LANGUAGE C;
CREATE FUNCTION @extschema@._shard_counts_final(state internal) RETURNS int8[]
    AS 'MODULE_PATHNAME', 'shardroute_shard_counts_final' LANGUAGE C;
CREATE AGGREGATE @extschema@._shard_counts(hash int4, shard_count int4) (
    SFUNC = @extschema@._shard_counts_accum, STYPE = internal, FINALFUNC = @extschema@._shard_counts_final);
COMMENT ON AGGREGATE @extschema@._shard_counts(int4, int4) IS
'Rows per shard as an int8[] of shard_count cells (cell i = shard i - 1), from each row''s shard hash.';
CREATE OR REPLACE PROCEDURE @extschema@.delete_misplaced_rows(cluster text, batch_size int DEFAULT 10000)
LANGUAGE plpgsql AS $$
DECLARE
    m record;
    b record;
    total int8;
    next_block int8;
BEGIN
    IF batch_size IS NULL OR batch_size <= 0 THEN
        RAISE EXCEPTION 'batch_size must be positive' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    COMMIT;  -- fails here, before any remote delete, when CALLed inside a transaction block
    FOR m IN SELECT r.node, r.table_name, t.key_column, array_agg(r.shard ORDER BY r.shard) AS shards, sum(r.rows) AS rows
               FROM shardroute.misplaced_rows(delete_misplaced_rows.cluster) r
               JOIN shardroute.sharded_table t ON t.cluster = delete_misplaced_rows.cluster AND t.table_name = r.table_name
              GROUP BY 1, 2, 3 ORDER BY 1, 2 LOOP
        total := 0;
        next_block := 0;
        LOOP
            -- each batch re-checks ownership against the catalog as it is now
            SELECT * INTO b FROM shardroute._partition_delete(delete_misplaced_rows.cluster, m.node, m.table_name,
                m.key_column, ARRAY(SELECT s FROM unnest(m.shards) s
                                     WHERE shardroute.node_for_shard(delete_misplaced_rows.cluster, s) IS DISTINCT FROM m.node),
                batch_size, next_block, m.rows::int8);
            total := total + b.deleted;
            next_block := b.next_block;
            RAISE NOTICE 'node %, table %: % of % misplaced rows deleted', m.node, m.table_name, total, m.rows;
            COMMIT;
            EXIT WHEN next_block < 0;
        END LOOP;
    END LOOP;
END $$;
COMMENT ON PROCEDURE @extschema@.delete_misplaced_rows(text, int) IS
'Deletes the rows misplaced_rows() reports, on each partition database in batches of about batch_size rows read (a range of heap blocks per statement), committing between batches (CALL it outside a transaction block) with a NOTICE per batch; never a row of a shard the node owns. Interrupted, CALL it again: it starts from what is left.';
REVOKE EXECUTE ON FUNCTION @extschema@._partition_delete(text, text, text, text, int4[], int4, int8, int8) FROM PUBLIC;

-- standby_status() shows the lag monitor's last failure and last success.
DROP FUNCTION @extschema@.standby_status();
CREATE FUNCTION @extschema@.standby_status()
RETURNS TABLE (node text, primary_node text, state text, replay_lag interval, lag_bytes int8,
               max_lag interval, max_lag_bytes int8, eligible bool, reason text, source text, sample_age interval,
               monitor_error text, monitor_error_at timestamptz, monitor_ok_at timestamptz)
    AS 'MODULE_PATHNAME', 'shardroute_standby_status' LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.standby_status() IS
'One row per registered standby: its pg_stat_replication state, replay lag and WAL bytes behind, its limits, and whether it is eligible for reads (reason: ok, lag, lag bytes, not connected, not streaming, lag unknown). source: where the lag was read (local walsender, primary, standby itself; "lag monitor not running" without shared_preload_libraries); sample_age: how old that reading is. monitor_error, monitor_error_at: the lag monitor''s last failed poll of it (kept after later successes), monitor_ok_at: its last sample.';
REVOKE EXECUTE ON FUNCTION @extschema@.standby_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.standby_status() TO pg_read_all_stats;

-- Unknown nodes, clusters and read groups: 42704 naming the known ones, everywhere.
-- Raises 42704 for an unknown node, cluster or read group, naming the known ones.
CREATE FUNCTION @extschema@._unknown(kind text, name text) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    known text[] := CASE kind
        WHEN 'node' THEN ARRAY(SELECT shardroute._shown(x.name) FROM shardroute.node x ORDER BY x.name)
        WHEN 'cluster' THEN ARRAY(SELECT shardroute._shown(x.name) FROM shardroute.shard_cluster x ORDER BY x.name)
        WHEN 'read group' THEN ARRAY(SELECT shardroute._shown(x.name) FROM shardroute.read_group x ORDER BY x.name)
    END;
    n int := coalesce(cardinality(known), 0);
BEGIN
    RAISE EXCEPTION '% "%" does not exist', kind, shardroute._shown(name) USING ERRCODE = 'undefined_object',
        DETAIL = CASE WHEN n = 0 THEN format('The catalog has no %ss.', kind)
                      WHEN n <= 20 THEN format('Known %ss: %s.', kind, array_to_string(known, ', '))
                      ELSE format('Known %ss: %s, and %s more.', kind, array_to_string(known[1:20], ', '), n - 20) END;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._shard_distribution(cluster text, only_table text)
RETURNS TABLE (node text, table_name text, shard int, rows int8)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE t record;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM shardroute.shard_cluster c WHERE c.name = _shard_distribution.cluster) THEN
        PERFORM shardroute._unknown('cluster', _shard_distribution.cluster);
    END IF;
    FOR t IN SELECT s.table_name, s.key_column FROM shardroute.sharded_table s
              WHERE s.cluster = _shard_distribution.cluster
                AND (only_table IS NULL OR s.table_name = only_table)
              ORDER BY s.table_name LOOP
        RETURN QUERY SELECT c.node, t.table_name, c.shard::int, c.rows::int8
                       FROM shardroute._partition_counts(_shard_distribution.cluster, t.table_name, t.key_column) c;
    END LOOP;
END $$;

CREATE OR REPLACE FUNCTION @extschema@.add_sharded_table(cluster text, table_name text, key_column text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM shardroute.shard_cluster c WHERE c.name = add_sharded_table.cluster) THEN
        PERFORM shardroute._unknown('cluster', add_sharded_table.cluster);
    END IF;
    PERFORM pg_catalog.parse_ident(add_sharded_table.table_name);  -- a (qualified) table name, or an error
    INSERT INTO shardroute.sharded_table VALUES (add_sharded_table.cluster, add_sharded_table.table_name,
                                                 add_sharded_table.key_column)
    ON CONFLICT ON CONSTRAINT sharded_table_pkey DO UPDATE SET key_column = excluded.key_column;
END $$;

CREATE OR REPLACE FUNCTION @extschema@.alter_node(name text, host text DEFAULT NULL, port int DEFAULT NULL,
                                       dbname text DEFAULT NULL, options text DEFAULT NULL,
                                       citus_role text DEFAULT NULL, citus_node_name text DEFAULT NULL,
                                       max_lag interval DEFAULT NULL, max_lag_bytes int8 DEFAULT NULL,
                                       application_name text DEFAULT NULL, plproxy_host text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM shardroute._lock_catalog();
    UPDATE shardroute.node n SET
        host = coalesce(alter_node.host, n.host),
        port = coalesce(alter_node.port, n.port),
        dbname = CASE WHEN alter_node.dbname = '' THEN NULL ELSE coalesce(alter_node.dbname, n.dbname) END,
        options = CASE WHEN alter_node.options = '' THEN NULL ELSE coalesce(alter_node.options, n.options) END,
        citus_role = CASE WHEN alter_node.citus_role = '' THEN NULL ELSE coalesce(alter_node.citus_role, n.citus_role) END,
        citus_node_name = CASE WHEN alter_node.citus_node_name = '' THEN NULL
                               ELSE coalesce(alter_node.citus_node_name, n.citus_node_name) END,
        max_lag = coalesce(alter_node.max_lag, n.max_lag),
        max_lag_bytes = coalesce(alter_node.max_lag_bytes, n.max_lag_bytes),
        application_name = CASE WHEN alter_node.application_name = '' THEN NULL
                                ELSE coalesce(alter_node.application_name, n.application_name) END,
        plproxy_host = CASE WHEN alter_node.plproxy_host = '' THEN NULL
                            ELSE coalesce(alter_node.plproxy_host, n.plproxy_host) END
    WHERE n.name = alter_node.name;
    IF NOT FOUND THEN
        PERFORM shardroute._unknown('node', alter_node.name);
    END IF;
END $$;

CREATE OR REPLACE FUNCTION @extschema@.assign_shards(cluster text, node text, first_shard int, last_shard int) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    c shardroute.shard_cluster;
    r shardroute.shard_range;
    f int := first_shard;
    l int := last_shard;
BEGIN
    PERFORM shardroute._lock_catalog();
    SELECT * INTO c FROM shardroute.shard_cluster sc WHERE sc.name = assign_shards.cluster;
    IF NOT FOUND THEN
        PERFORM shardroute._unknown('cluster', assign_shards.cluster);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM shardroute.node n WHERE n.name = assign_shards.node) THEN
        PERFORM shardroute._unknown('node', assign_shards.node);
    END IF;
    IF f IS NULL OR l IS NULL OR f < 0 OR l < f OR l >= c.shard_count THEN
        RAISE EXCEPTION 'invalid shard range [%, %] for cluster "%"', f, l, c.name
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Cluster "%s" has shards 0..%s; ranges are inclusive, first <= last.', c.name, c.shard_count - 1);
    END IF;
    -- take the shards away from whoever holds them now
    FOR r IN SELECT * FROM shardroute.shard_range sr
              WHERE sr.cluster = c.name AND sr.last_shard >= f AND sr.first_shard <= l LOOP
        DELETE FROM shardroute.shard_range sr WHERE sr.cluster = c.name AND sr.first_shard = r.first_shard;
        IF r.first_shard < f THEN
            INSERT INTO shardroute.shard_range VALUES (c.name, r.node, r.first_shard, f - 1);
        END IF;
        IF r.last_shard > l THEN
            INSERT INTO shardroute.shard_range VALUES (c.name, r.node, l + 1, r.last_shard);
        END IF;
    END LOOP;
    -- merge with the node's adjacent ranges, so one node keeps one range where it can
    SELECT * INTO r FROM shardroute.shard_range sr
     WHERE sr.cluster = c.name AND sr.node = assign_shards.node AND sr.last_shard = f - 1;
    IF FOUND THEN
        DELETE FROM shardroute.shard_range sr WHERE sr.cluster = c.name AND sr.first_shard = r.first_shard;
        f := r.first_shard;
    END IF;
    SELECT * INTO r FROM shardroute.shard_range sr
     WHERE sr.cluster = c.name AND sr.node = assign_shards.node AND sr.first_shard = l + 1;
    IF FOUND THEN
        DELETE FROM shardroute.shard_range sr WHERE sr.cluster = c.name AND sr.first_shard = r.first_shard;
        l := r.last_shard;
    END IF;
    INSERT INTO shardroute.shard_range VALUES (c.name, assign_shards.node, f, l);
END $$;

CREATE OR REPLACE FUNCTION @extschema@.drop_cluster(name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM shardroute._lock_catalog();
    DELETE FROM shardroute.shard_range r WHERE r.cluster = drop_cluster.name;
    DELETE FROM shardroute.shard_cluster c WHERE c.name = drop_cluster.name;
    IF NOT FOUND THEN
        PERFORM shardroute._unknown('cluster', drop_cluster.name);
    END IF;
END $$;

CREATE OR REPLACE FUNCTION @extschema@.drop_node(name text, force bool DEFAULT false) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE refs text[];
BEGIN
    PERFORM shardroute._lock_catalog();
    IF NOT EXISTS (SELECT 1 FROM shardroute.node n WHERE n.name = drop_node.name) THEN
        PERFORM shardroute._unknown('node', drop_node.name);
    END IF;
    SELECT array_agg(r ORDER BY r) INTO refs FROM (
        SELECT format('standby %I', s.name) FROM shardroute.node s WHERE s.primary_node = drop_node.name
        UNION ALL SELECT format('shards %s..%s of cluster %I', r.first_shard, r.last_shard, r.cluster)
                    FROM shardroute.shard_range r WHERE r.node = drop_node.name
        UNION ALL SELECT format('proxy of cluster %I', c.name) FROM shardroute.shard_cluster c
                   WHERE drop_node.name IN (c.proxy_node, c.standby_proxy_node)
        UNION ALL SELECT format('WRITE node of read group %I', g.name) FROM shardroute.read_group g
                   WHERE g.write_node = drop_node.name
        UNION ALL SELECT format('READ list of read group %I', m.read_group) FROM shardroute.read_member m
                   WHERE m.node = drop_node.name) x(r);
    IF refs IS NOT NULL AND NOT coalesce(force, false) THEN  -- NULL is the default, not "force"
        RAISE EXCEPTION 'node "%" is still referenced', drop_node.name USING ERRCODE = 'object_in_use',
            DETAIL = 'Referenced by: ' || array_to_string(refs, '; ') || '.',
            HINT = 'Reassign or drop those first, or use force => true to remove the references too (the transaction must still leave a valid topology).';
    END IF;
    DELETE FROM shardroute.read_member m WHERE m.node = drop_node.name
        OR m.read_group IN (SELECT g.name FROM shardroute.read_group g WHERE g.write_node = drop_node.name);
    DELETE FROM shardroute.read_group g WHERE g.write_node = drop_node.name;
    UPDATE shardroute.shard_cluster c SET proxy_node = NULL WHERE c.proxy_node = drop_node.name;
    UPDATE shardroute.shard_cluster c SET standby_proxy_node = NULL WHERE c.standby_proxy_node = drop_node.name;
    DELETE FROM shardroute.shard_range r WHERE r.node = drop_node.name;
    DELETE FROM shardroute.node s WHERE s.primary_node = drop_node.name OR s.name = drop_node.name;
END $$;

CREATE OR REPLACE FUNCTION @extschema@.drop_read_group(name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM shardroute._lock_catalog();
    DELETE FROM shardroute.read_member m WHERE m.read_group = drop_read_group.name;
    DELETE FROM shardroute.read_group g WHERE g.name = drop_read_group.name;
    IF NOT FOUND THEN
        PERFORM shardroute._unknown('read group', drop_read_group.name);
    END IF;
END $$;

CREATE OR REPLACE FUNCTION @extschema@.promote_standby(standby text, new_name text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    target text := coalesce(nullif(promote_standby.new_name, ''), promote_standby.standby);
    old_primary text;
    groups text;
BEGIN
    PERFORM shardroute._lock_catalog();
    SELECT n.primary_node INTO old_primary FROM shardroute.node n WHERE n.name = promote_standby.standby;
    IF NOT FOUND THEN
        PERFORM shardroute._unknown('node', promote_standby.standby);
    END IF;
    IF old_primary IS NULL THEN
        RAISE EXCEPTION 'node "%" is not a standby', shardroute._shown(promote_standby.standby)
            USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'promote_standby() records that a standby''s server was promoted (pg_promote()).';
    END IF;
    IF target <> promote_standby.standby AND EXISTS (SELECT 1 FROM shardroute.node n WHERE n.name = target) THEN
        RAISE EXCEPTION 'node "%" already exists', shardroute._shown(target) USING ERRCODE = 'duplicate_object',
            HINT = 'Pass another new_name, or none to keep the standby''s name.';
    END IF;
    SELECT string_agg(format('%I', m.read_group), ', ' ORDER BY m.read_group) INTO groups
      FROM shardroute.read_member m WHERE m.node = promote_standby.standby;
    IF groups IS NOT NULL THEN
        DELETE FROM shardroute.read_member m WHERE m.node = promote_standby.standby;
        RAISE NOTICE 'node "%" left the READ lists of %', promote_standby.standby, groups
            USING DETAIL = format('Promoted, it no longer replays the writes of %I.', old_primary);
    END IF;
    IF target = promote_standby.standby THEN
        UPDATE shardroute.node n SET primary_node = NULL, max_lag = NULL, max_lag_bytes = NULL, application_name = NULL
         WHERE n.name = promote_standby.standby;
    ELSE
        INSERT INTO shardroute.node (name, host, port, dbname, options, citus_role, citus_node_name, plproxy_host)
        SELECT target, n.host, n.port, n.dbname, n.options, n.citus_role, n.citus_node_name, n.plproxy_host
          FROM shardroute.node n WHERE n.name = promote_standby.standby;
        DELETE FROM shardroute.node n WHERE n.name = promote_standby.standby;
    END IF;
END $$;

CREATE OR REPLACE FUNCTION @extschema@.set_read_weight(read_group text, node text, weight float8) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM shardroute._lock_catalog();
    IF NOT EXISTS (SELECT 1 FROM shardroute.read_group g WHERE g.name = set_read_weight.read_group) THEN
        PERFORM shardroute._unknown('read group', set_read_weight.read_group);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM shardroute.node n WHERE n.name = set_read_weight.node) THEN
        PERFORM shardroute._unknown('node', set_read_weight.node);
    END IF;
    IF weight IS NULL OR weight < 0 OR weight = 'NaN' OR weight = 'Infinity' THEN
        RAISE EXCEPTION 'invalid weight % for "%" in read group "%"', weight, shardroute._shown(node), read_group
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Weights are finite numbers >= 0; 0 removes the member.';
    END IF;
    IF weight = 0 THEN
        DELETE FROM shardroute.read_member m WHERE m.read_group = set_read_weight.read_group AND m.node = set_read_weight.node;
    ELSE
        INSERT INTO shardroute.read_member AS m VALUES (set_read_weight.read_group, set_read_weight.node, weight)
        ON CONFLICT ON CONSTRAINT read_member_pkey DO UPDATE SET weight = EXCLUDED.weight
        WHERE m.weight IS DISTINCT FROM EXCLUDED.weight;
    END IF;
END $$;

------------------------------------------------------------------------------
-- Fencing (1.3): the shards being moved stop taking writes, on the partition
-- databases themselves, for the seconds of the switch.
--
-- On the proxy, shard_fence records what is fenced and on which node the fence
-- was placed. On each partition database, partition_fence holds that node's own
-- fences, and the trigger shardroute_fence on every sharded table refuses writes
-- to them (SQLSTATE 25006): 'fenced' while a move is under way, 'moved' once
-- the shard lives elsewhere (its rows here are misplaced copies, which only
-- the clean-up deletes, with shardroute.fence_cleanup on).
------------------------------------------------------------------------------

CREATE TABLE @extschema@.shard_fence (
    cluster text NOT NULL REFERENCES @extschema@.shard_cluster (name) ON UPDATE CASCADE ON DELETE CASCADE,
    shard int4 NOT NULL CHECK (shard >= 0),
    node text NOT NULL,
    fenced_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (cluster, shard)
);
COMMENT ON TABLE @extschema@.shard_fence IS
'On the proxy: the fenced shards of each cluster (fence_shards), with the node that owned each one when it was fenced, where the fence was placed.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.shard_fence', '');
REVOKE ALL ON @extschema@.shard_fence FROM PUBLIC;
GRANT SELECT ON @extschema@.shard_fence TO PUBLIC;

CREATE VIEW @extschema@.fences AS
SELECT f.cluster, min(f.shard) AS first_shard, max(f.shard) AS last_shard, f.node, min(f.fenced_at) AS fenced_at
  FROM (SELECT s.*, s.shard - row_number() OVER (PARTITION BY s.cluster, s.node ORDER BY s.shard) AS run
          FROM @extschema@.shard_fence s) f
 GROUP BY f.cluster, f.node, f.run;
COMMENT ON VIEW @extschema@.fences IS 'The fenced shards as ranges: cluster, first_shard, last_shard, the node the fence is on, since when.';
GRANT SELECT ON @extschema@.fences TO PUBLIC;

CREATE TABLE @extschema@.partition_fence (
    cluster text NOT NULL,
    shard int4 NOT NULL,
    shard_count int4 NOT NULL CHECK (shard_count > 0 AND shard_count & (shard_count - 1) = 0),
    algorithm text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('fenced', 'moved')),
    since timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (cluster, shard),
    CHECK (shard >= 0 AND shard < shard_count)
);
COMMENT ON TABLE @extschema@.partition_fence IS
'On a partition database: the shards whose writes the shardroute_fence triggers refuse here. fenced: a move is under way; moved: the shard lives elsewhere now (only the misplaced-row clean-up deletes its rows, with shardroute.fence_cleanup on). Written by the proxy (fence_shards, unfence_shards).';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.partition_fence', '');
REVOKE ALL ON @extschema@.partition_fence FROM PUBLIC;
GRANT SELECT ON @extschema@.partition_fence TO PUBLIC;

-- every backend's fence cache reloads after any change
CREATE FUNCTION @extschema@._fence_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'shardroute_table_changed' LANGUAGE C;
CREATE TRIGGER fence_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.partition_fence
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._fence_changed();

-- AFTER INSERT OR UPDATE OR DELETE, each row, on a sharded table of a partition
-- database; arguments: cluster, key column.
CREATE FUNCTION @extschema@.fence_guard() RETURNS trigger
    AS 'MODULE_PATHNAME', 'shardroute_fence_guard' LANGUAGE C;
COMMENT ON FUNCTION @extschema@.fence_guard() IS
'Trigger of the sharded tables on a partition database (created by fence_shards): refuses writes to the shards partition_fence lists, with SQLSTATE 25006.';

-- On a partition database, called by the proxy's fence_shards: fences the
-- shards here and puts the guard on each table. The caller (the role the proxy
-- connects as) needs the TRIGGER privilege on the tables.
CREATE FUNCTION @extschema@._fence_local(cluster text, shard_count int4, algorithm text, shards int4[],
                                         tables regclass[], key_columns text[]) RETURNS int4
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    i int4;
    args bytea;
BEGIN
    IF coalesce(cardinality(tables), 0) <> coalesce(cardinality(key_columns), 0) THEN
        RAISE EXCEPTION 'tables and key_columns differ in length' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR i IN 1 .. coalesce(cardinality(tables), 0) LOOP
        IF NOT has_table_privilege(session_user, tables[i], 'TRIGGER') THEN
            RAISE EXCEPTION 'permission denied to fence table %', tables[i] USING ERRCODE = 'insufficient_privilege',
                HINT = 'The role the proxy connects as needs the TRIGGER privilege on the sharded tables.';
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = tables[i] AND a.attname = key_columns[i]
                          AND a.attnum > 0 AND NOT a.attisdropped) THEN
            RAISE EXCEPTION 'table % has no column "%"', tables[i], key_columns[i] USING ERRCODE = 'undefined_column';
        END IF;
        args := convert_to(_fence_local.cluster, getdatabaseencoding()) || '\x00'::bytea
                || convert_to(key_columns[i], getdatabaseencoding()) || '\x00'::bytea;
        IF NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = tables[i] AND t.tgname = 'shardroute_fence'
                          AND t.tgargs = args AND t.tgenabled <> 'D') THEN
            -- AFTER: the row as written (generated columns, other triggers' changes).
            -- Creating it waits for the table's writers, and new writers queue
            -- behind it: give up rather than stall them.
            PERFORM set_config('lock_timeout', '2s', true);
            BEGIN
                EXECUTE format('CREATE OR REPLACE TRIGGER shardroute_fence AFTER INSERT OR UPDATE OR DELETE ON %s '
                               'FOR EACH ROW EXECUTE FUNCTION shardroute.fence_guard(%L, %L)',
                               tables[i], _fence_local.cluster, key_columns[i]);
            EXCEPTION WHEN lock_not_available THEN
                RAISE EXCEPTION 'could not put the fence trigger on table %: a transaction holds it', tables[i]
                    USING ERRCODE = 'lock_not_available',
                          DETAIL = 'The first fence of a table adds a trigger to it, which waits for the table''s writers (at most 2 s).',
                          HINT = 'Retry fence_shards() when the long transactions on that table have ended.';
            END;
        END IF;
    END LOOP;
    INSERT INTO shardroute.partition_fence AS f (cluster, shard, shard_count, algorithm, kind)
    SELECT _fence_local.cluster, s, _fence_local.shard_count, _fence_local.algorithm, 'fenced'
      FROM unnest(shards) s WHERE s IS NOT NULL
    ON CONFLICT ON CONSTRAINT partition_fence_pkey DO UPDATE
       SET kind = 'fenced', shard_count = excluded.shard_count, algorithm = excluded.algorithm, since = now();
    RETURN coalesce(cardinality(shards), 0);
END $$;

-- On a partition database, after _fence_local committed: waits for every
-- transaction that held a write lock on the tables (or their partitions) then
-- (it may have written a fenced shard before the fence), ending those still
-- open after timeout_ms; and for prepared transactions holding writes to them,
-- which cannot be ended: past the timeout it raises, naming them. Returns how
-- many transactions it ended. Transactions that start later see the fence.
CREATE FUNCTION @extschema@._fence_wait(tables regclass[], timeout_ms int4) RETURNS int4
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    rels oid[];
    writers text[];
    deadline timestamptz := clock_timestamp() + make_interval(secs => timeout_ms / 1000.0);
    ended int4 := 0;
    prepared text;
    w record;
    write_modes text[] := ARRAY['RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'];
BEGIN
    -- only tables the caller may fence, and that carry the guard
    IF EXISTS (SELECT 1 FROM unnest(tables) t
                WHERE NOT has_table_privilege(session_user, t, 'TRIGGER')
                   OR NOT EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = t AND g.tgname = 'shardroute_fence')) THEN
        RAISE EXCEPTION 'permission denied to wait for the writers of these tables'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Only fenced tables on which the caller has the TRIGGER privilege are waited for.';
    END IF;
    -- a writer of a partitioned table may hold a lock on one partition only
    -- (pg_partition_tree() is empty for a table that is not partitioned)
    SELECT array_agg(DISTINCT r) INTO rels
      FROM (SELECT t::oid FROM unnest(tables) t
            UNION SELECT p.relid::oid FROM unnest(tables) t, pg_partition_tree(t) p) x(r);
    SELECT array_agg(DISTINCT l.virtualtransaction) INTO writers
      FROM pg_locks l
     WHERE l.locktype = 'relation' AND l.relation = ANY (rels) AND l.granted AND l.pid IS NOT NULL
       AND l.pid <> pg_backend_pid() AND l.mode = ANY (write_modes)
       AND l.database = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database());
    LOOP
        -- a writer that PREPAREs keeps its locks as a prepared transaction
        SELECT string_agg(DISTINCT coalesce(quote_literal(x.gid), l.virtualtransaction), ', ') INTO prepared
          FROM pg_locks l
          LEFT JOIN pg_locks t ON t.locktype = 'transactionid' AND t.pid IS NULL
                              AND t.virtualtransaction = l.virtualtransaction
          LEFT JOIN pg_prepared_xacts x ON x.transaction = t.transactionid
         WHERE l.locktype = 'relation' AND l.relation = ANY (rels) AND l.pid IS NULL AND l.mode = ANY (write_modes);
        EXIT WHEN prepared IS NULL
              AND NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'virtualxid' AND l.virtualxid = ANY (writers));
        IF clock_timestamp() >= deadline THEN
            IF prepared IS NOT NULL THEN
                RAISE EXCEPTION 'prepared transactions hold writes to the fenced tables: %', prepared
                    USING ERRCODE = 'object_not_in_prerequisite_state',
                          HINT = 'COMMIT PREPARED or ROLLBACK PREPARED them, then fence again; the fence stays until unfence_shards().';
            END IF;
            -- the rules of pg_terminate_backend() for the caller: its own roles'
            -- backends, or with pg_signal_backend any but a superuser's
            FOR w IN SELECT DISTINCT l.pid, a.usesysid, r.rolsuper
                       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid JOIN pg_roles r ON r.oid = a.usesysid
                      WHERE l.locktype = 'virtualxid' AND l.virtualxid = ANY (writers) LOOP
                IF NOT ((SELECT c.rolsuper FROM pg_roles c WHERE c.rolname = session_user)
                        OR (NOT w.rolsuper AND (pg_has_role(session_user, w.usesysid, 'MEMBER')
                                                OR pg_has_role(session_user, 'pg_signal_backend', 'MEMBER')))) THEN
                    RAISE EXCEPTION 'permission denied to end the writer with PID %', w.pid
                        USING ERRCODE = 'insufficient_privilege',
                              HINT = 'Grant pg_signal_backend to the role the proxy connects as, or end it by hand.';
                END IF;
                IF pg_terminate_backend(w.pid, 5000) THEN
                    ended := ended + 1;
                END IF;
            END LOOP;
            deadline := clock_timestamp() + make_interval(secs => timeout_ms / 1000.0);
        END IF;
        PERFORM pg_sleep(0.005);
    END LOOP;
    RETURN ended;
END $$;

-- On a partition database, called by the proxy's unfence_shards: lifts the
-- fence of the shards this node owns now, and turns the others into 'moved'.
CREATE FUNCTION @extschema@._unfence_local(cluster text, owned int4[], moved int4[]) RETURNS int4
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    lifted int4;
BEGIN
    DELETE FROM shardroute.partition_fence f WHERE f.cluster = _unfence_local.cluster AND f.shard = ANY (owned);
    GET DIAGNOSTICS lifted = ROW_COUNT;
    UPDATE shardroute.partition_fence f SET kind = 'moved', since = now()
     WHERE f.cluster = _unfence_local.cluster AND f.shard = ANY (moved) AND f.kind <> 'moved';
    RETURN lifted;
END $$;

-- On the proxy: the remote halves, through the cluster's PL/Proxy user mapping.
CREATE FUNCTION @extschema@._fence_push(cluster text, node text, shards int4[], tables text[], key_columns text[])
    RETURNS int4 AS 'MODULE_PATHNAME', 'shardroute_fence_push' LANGUAGE C VOLATILE STRICT;
CREATE FUNCTION @extschema@._unfence_push(cluster text, node text, owned int4[], moved int4[])
    RETURNS int4 AS 'MODULE_PATHNAME', 'shardroute_unfence_push' LANGUAGE C VOLATILE STRICT;

CREATE FUNCTION @extschema@.fence_shards(cluster text, first_shard int4, last_shard int4) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    c shardroute.shard_cluster;
    n record;
    tables text[];
    keys text[];
BEGIN
    PERFORM shardroute._lock_catalog();
    SELECT * INTO c FROM shardroute.shard_cluster s WHERE s.name = fence_shards.cluster;
    IF NOT FOUND THEN
        PERFORM shardroute._unknown('cluster', fence_shards.cluster);
    END IF;
    IF first_shard IS NULL OR last_shard IS NULL OR first_shard < 0 OR last_shard >= c.shard_count
       OR first_shard > last_shard THEN
        RAISE EXCEPTION 'shards % to % are not a range of cluster "%"', first_shard, last_shard, c.name
            USING ERRCODE = 'invalid_parameter_value', DETAIL = format('Its shards are 0 to %s.', c.shard_count - 1);
    END IF;
    IF EXISTS (SELECT 1 FROM generate_series(first_shard, last_shard) s
                WHERE NOT EXISTS (SELECT 1 FROM shardroute.shard_range r
                                   WHERE r.cluster = c.name AND s BETWEEN r.first_shard AND r.last_shard)) THEN
        RAISE EXCEPTION 'shards % to % of cluster "%" are not all assigned', first_shard, last_shard, c.name
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Assign them with shardroute.assign_shards() first.';
    END IF;
    SELECT array_agg(t.table_name ORDER BY t.table_name), array_agg(t.key_column ORDER BY t.table_name)
      INTO tables, keys FROM shardroute.sharded_table t WHERE t.cluster = c.name;
    IF tables IS NULL THEN
        RAISE EXCEPTION 'cluster "%" has no sharded tables', c.name USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'Register the tables a fence protects with shardroute.add_sharded_table().';
    END IF;
    INSERT INTO shardroute.shard_fence (cluster, shard, node)
    SELECT c.name, s, r.node FROM generate_series(first_shard, last_shard) s
      JOIN shardroute.shard_range r ON r.cluster = c.name AND s BETWEEN r.first_shard AND r.last_shard
    ON CONFLICT ON CONSTRAINT shard_fence_pkey DO NOTHING;
    -- on each owner's database, then wait there for the writers already under way
    FOR n IN SELECT f.node, array_agg(f.shard ORDER BY f.shard) AS shards FROM shardroute.shard_fence f
              WHERE f.cluster = c.name AND f.shard BETWEEN first_shard AND last_shard
              GROUP BY f.node ORDER BY f.node LOOP
        PERFORM shardroute._fence_push(c.name, n.node, n.shards, tables, keys);
    END LOOP;
END $$;
COMMENT ON FUNCTION @extschema@.fence_shards(text, int4, int4) IS
'Fences shards first_shard..last_shard for a move: on the database of each node that owns them, writes to their rows in the sharded tables fail at once with SQLSTATE 25006 (retry later); reads and other shards are untouched. Returns once every transaction that could have written them before the fence has ended (those still open after shardroute.fence_timeout are terminated). Takes effect on the partition databases at once, whatever becomes of the calling transaction.';

CREATE FUNCTION @extschema@.unfence_shards(cluster text, first_shard int4, last_shard int4) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    c shardroute.shard_cluster;
    n record;
BEGIN
    PERFORM shardroute._lock_catalog();
    SELECT * INTO c FROM shardroute.shard_cluster s WHERE s.name = unfence_shards.cluster;
    IF NOT FOUND THEN
        PERFORM shardroute._unknown('cluster', unfence_shards.cluster);
    END IF;
    IF first_shard IS NULL OR last_shard IS NULL OR first_shard < 0 OR last_shard >= c.shard_count
       OR first_shard > last_shard THEN
        RAISE EXCEPTION 'shards % to % are not a range of cluster "%"', first_shard, last_shard, c.name
            USING ERRCODE = 'invalid_parameter_value', DETAIL = format('Its shards are 0 to %s.', c.shard_count - 1);
    END IF;
    -- every node that may hold fences of these shards: the shards' owners now
    -- (a promoted copy holds its primary's fences; a fence whose proxy
    -- transaction rolled back is on its owner), and the nodes the proxy
    -- recorded, which keep them as 'moved' when they no longer own the shards
    FOR n IN WITH f AS (
                 SELECT s AS shard,
                        (SELECT r.node FROM shardroute.shard_range r WHERE r.cluster = c.name
                            AND s BETWEEN r.first_shard AND r.last_shard) AS owner,
                        (SELECT x.node FROM shardroute.shard_fence x WHERE x.cluster = c.name AND x.shard = s) AS fenced_on
                   FROM generate_series(first_shard, last_shard) s),
             places AS (SELECT f.owner AS node FROM f WHERE f.owner IS NOT NULL
                        UNION SELECT f.fenced_on FROM f WHERE f.fenced_on IS NOT NULL)
             SELECT p.node, coalesce(array_agg(f.shard ORDER BY f.shard) FILTER (WHERE f.owner = p.node), '{}') AS owned,
                    coalesce(array_agg(f.shard ORDER BY f.shard)
                             FILTER (WHERE f.fenced_on = p.node AND f.owner IS DISTINCT FROM p.node), '{}') AS moved,
                    EXISTS (SELECT 1 FROM shardroute.node x WHERE x.name = p.node) AS known
               FROM places p, f GROUP BY p.node ORDER BY p.node LOOP
        IF n.known THEN
            PERFORM shardroute._unfence_push(c.name, n.node, n.owned, n.moved);
        ELSE
            RAISE NOTICE 'node "%" is no longer in the catalog: its database keeps its fences', n.node;
        END IF;
    END LOOP;
    DELETE FROM shardroute.shard_fence s
     WHERE s.cluster = c.name AND s.shard BETWEEN first_shard AND last_shard;
END $$;
COMMENT ON FUNCTION @extschema@.unfence_shards(text, int4, int4) IS
'Ends the fence of shards first_shard..last_shard on the databases of their owners (also a fence left by a fence_shards() whose transaction failed); a node that fenced them but no longer owns them keeps refusing writes to them (its rows are misplaced copies: delete_misplaced_rows() removes them). Run it after the move''s assign_shards/move_node and plproxy_sync, in the same transaction.';

REVOKE EXECUTE ON FUNCTION @extschema@.fence_shards(text, int4, int4), @extschema@.unfence_shards(text, int4, int4),
    @extschema@._fence_push(text, text, int4[], text[], text[]), @extschema@._unfence_push(text, text, int4[], int4[]),
    @extschema@._fence_local(text, int4, text, int4[], regclass[], text[]), @extschema@._fence_wait(regclass[], int4),
    @extschema@._unfence_local(text, int4[], int4[]), @extschema@._fence_changed(), @extschema@.fence_guard() FROM PUBLIC;

------------------------------------------------------------------------------
-- Operators' view (1.3): every node at a glance, choice counters, why a key
-- goes where it goes. Committed topology changes also NOTIFY shardroute_topology.
------------------------------------------------------------------------------

CREATE FUNCTION @extschema@._read_stats() RETURNS TABLE (read_group text, node text, chosen text, since text)
    AS 'MODULE_PATHNAME', 'shardroute_read_stats' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@.read_stats() RETURNS TABLE (read_group text, node text, chosen int8, since timestamptz)
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
    SELECT s.read_group, s.node, s.chosen::int8, s.since::timestamptz FROM shardroute._read_stats() s ORDER BY 1, 2
$$;
COMMENT ON FUNCTION @extschema@.read_stats() IS
'How often choose_read_node() chose each node for each read group of this database since the last reset_read_stats() (shared memory: needs shardroute in shared_preload_libraries, else no rows). For pg_read_all_stats, as the nodes view.';
CREATE FUNCTION @extschema@.reset_read_stats() RETURNS void
    AS 'MODULE_PATHNAME', 'shardroute_reset_read_stats' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.reset_read_stats() IS 'Sets every read_stats() counter of this database to 0.';

CREATE FUNCTION @extschema@.explain_key(cluster text, key text)
RETURNS TABLE (hash int4, shard int4, first_shard int4, last_shard int4, node text, conninfo text)
LANGUAGE plpgsql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s int4 := shardroute.shard_for_key(explain_key.cluster, explain_key.key);  -- unknown cluster: 42704
BEGIN
    RETURN QUERY
    SELECT shardroute.hash_string(explain_key.key, c.algorithm), s, r.first_shard, r.last_shard, r.node,
           CASE WHEN r.node IS NOT NULL THEN shardroute.conninfo(r.node) END
      FROM shardroute.shard_cluster c
      LEFT JOIN shardroute.shard_range r ON r.cluster = c.name AND s BETWEEN r.first_shard AND r.last_shard
     WHERE c.name = explain_key.cluster;
END $$;
COMMENT ON FUNCTION @extschema@.explain_key(text, text) IS
'Why a key goes where it goes: its hash (the cluster''s algorithm over the key''s bytes), shard (hash & (shard_count - 1)), the shard range holding it, that range''s node (NULL when unassigned) and the node''s conninfo.';

CREATE VIEW @extschema@.nodes AS
SELECT n.name AS node,
       CASE WHEN n.primary_node IS NOT NULL THEN 'standby' ELSE 'primary' END AS role,
       n.primary_node, n.host, n.port, n.dbname, n.citus_role,
       (SELECT string_agg(format('%s: %s shards', x.cluster, x.shards), ', ' ORDER BY x.cluster)
          FROM (SELECT r.cluster, sum(r.last_shard - r.first_shard + 1) AS shards FROM @extschema@.shard_range r
                 WHERE r.node = n.name GROUP BY r.cluster) x) AS clusters,
       (SELECT string_agg(y.g, ', ' ORDER BY y.g)
          FROM (SELECT format('%s (write)', g.name) AS g FROM @extschema@.read_group g WHERE g.write_node = n.name
                UNION ALL
                SELECT format('%s (weight %s)', m.read_group, m.weight) FROM @extschema@.read_member m
                 WHERE m.node = n.name) y) AS read_groups,
       s.state, s.replay_lag AS lag, s.lag_bytes,
       CASE WHEN n.primary_node IS NULL THEN true ELSE s.eligible END AS eligible, s.reason,
       (SELECT sum(c.chosen)::int8 FROM @extschema@.read_stats() c WHERE c.node = n.name) AS chosen
  FROM @extschema@.node n
  LEFT JOIN @extschema@.standby_status() s ON s.node = n.name;
COMMENT ON VIEW @extschema@.nodes IS
'Every node at a glance (like pgpool''s SHOW POOL_NODES): role, primary, address, shards per cluster, read groups and weights, replication state, lag, eligibility for reads, and how often it was chosen (read_stats). For pg_read_all_stats, as standby_status().';
REVOKE ALL ON @extschema@.nodes FROM PUBLIC;
GRANT SELECT ON @extschema@.nodes TO pg_read_all_stats;

REVOKE EXECUTE ON FUNCTION @extschema@.reset_read_stats(), @extschema@.read_stats(), @extschema@._read_stats() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.read_stats(), @extschema@._read_stats() TO pg_read_all_stats;

------------------------------------------------------------------------------
-- Clean removal (1.3): DROP EXTENSION takes the schema with it (when it holds
-- nothing else) and names the PL/Proxy servers it leaves for their owners.
------------------------------------------------------------------------------

CREATE FUNCTION @extschema@._drop_extension_start() RETURNS event_trigger
    AS 'MODULE_PATHNAME', 'shardroute_drop_extension_start' LANGUAGE C;
CREATE EVENT TRIGGER shardroute_drop_extension ON ddl_command_start WHEN TAG IN ('DROP EXTENSION')
    EXECUTE FUNCTION @extschema@._drop_extension_start();
REVOKE EXECUTE ON FUNCTION @extschema@._drop_extension_start() FROM PUBLIC;
