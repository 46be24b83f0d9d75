-- shardroute 1.3 -> 1.4: see CHANGELOG.md. Generated from the 1.4 script; the objects are the same.
\echo Use "ALTER EXTENSION shardroute UPDATE TO '1.4'" to load this file. \quit

-- records the catalog before a transaction's first change: the topology NOTIFY
-- names only the tables whose content changed
CREATE OR REPLACE FUNCTION @extschema@._catalog_before() RETURNS trigger
    AS 'MODULE_PATHNAME', 'shardroute_catalog_before' LANGUAGE C;

-- Raises 42704 for an unknown node, standby, cluster or read group: the error
-- the C++ functions raise for the same mistake (_raise_unknown builds both).
CREATE OR REPLACE FUNCTION @extschema@._raise_unknown(kind text, name text, known text[]) RETURNS void
    AS 'MODULE_PATHNAME', 'shardroute_raise_unknown' LANGUAGE C STABLE;

CREATE OR REPLACE FUNCTION @extschema@._unknown(kind text, name text) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM shardroute._raise_unknown(kind, name, CASE kind
        WHEN 'node' THEN ARRAY(SELECT x.name FROM shardroute.node x)
        WHEN 'standby' THEN ARRAY(SELECT x.name FROM shardroute.node x WHERE x.primary_node IS NOT NULL)
        WHEN 'cluster' THEN ARRAY(SELECT x.name FROM shardroute.shard_cluster x)
        WHEN 'read group' THEN ARRAY(SELECT x.name FROM shardroute.read_group x)
    END);
END $$;

CREATE OR REPLACE FUNCTION @extschema@.add_standby(name text, primary_node text, host text, port int DEFAULT 5432,
                                        dbname text DEFAULT NULL, max_lag interval DEFAULT '3 seconds',
                                        max_lag_bytes int8 DEFAULT NULL, application_name text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM shardroute._lock_catalog();
    IF add_standby.primary_node IS NULL THEN
        RAISE EXCEPTION 'primary_node must not be NULL' USING ERRCODE = 'null_value_not_allowed',
            HINT = 'A standby replays the WAL of one primary: name it. add_node() registers a primary.';
    ELSIF add_standby.primary_node IS DISTINCT FROM add_standby.name  -- naming itself: a cycle, which validation names
          AND NOT EXISTS (SELECT FROM shardroute.node n WHERE n.name = add_standby.primary_node) THEN
        PERFORM shardroute._unknown('node', add_standby.primary_node);
    END IF;
    INSERT INTO shardroute.node (name, host, port, dbname, primary_node, max_lag, max_lag_bytes, application_name)
    VALUES (add_standby.name, add_standby.host, coalesce(add_standby.port, 5432), add_standby.dbname,
            add_standby.primary_node, coalesce(add_standby.max_lag, '3 seconds'), add_standby.max_lag_bytes,
            add_standby.application_name);
EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'node "%" already exists', add_standby.name USING ERRCODE = 'duplicate_object',
        HINT = 'Use shardroute.alter_node() to change it.';
END $$;
COMMENT ON FUNCTION @extschema@.add_standby(text, text, text, int, text, interval, int8, text) IS
'Registers a streaming standby of primary_node (Django STANDBY: MASTER, ACCEPTABLE_REPLICATION_DELAY = max_lag). application_name: how the standby appears in its primary''s pg_stat_replication (default: name).';

CREATE OR REPLACE FUNCTION @extschema@.create_cluster(name text, shard_count int DEFAULT 1024, algorithm text DEFAULT 'siphash24',
                                           proxy_node text DEFAULT NULL, standby_proxy_node text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    missing text;
BEGIN
    PERFORM shardroute._lock_catalog();
    SELECT p INTO missing FROM unnest(ARRAY[create_cluster.proxy_node, create_cluster.standby_proxy_node]) p
     WHERE p IS NOT NULL AND NOT EXISTS (SELECT FROM shardroute.node n WHERE n.name = p) LIMIT 1;
    IF missing IS NOT NULL THEN
        PERFORM shardroute._unknown('node', missing);
    END IF;
    INSERT INTO shardroute.shard_cluster (name, shard_count, algorithm, proxy_node, standby_proxy_node)
    VALUES (create_cluster.name, coalesce(create_cluster.shard_count, 1024),
            coalesce(create_cluster.algorithm, 'siphash24'), create_cluster.proxy_node, create_cluster.standby_proxy_node);
EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'cluster "%" already exists', create_cluster.name USING ERRCODE = 'duplicate_object';
END $$;
COMMENT ON FUNCTION @extschema@.create_cluster(text, int, text, text, text) IS
'Creates a sharded cluster (PL_PROXY_CLUSTER_NAME). shard_count: a power of 2, fixed for life. proxy_node / standby_proxy_node: the databases marked PLPROXY PROXY and PROXY_FOR_STANDBYS.';

CREATE OR REPLACE FUNCTION @extschema@.create_read_group(name text, write_node text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM shardroute._lock_catalog();
    IF create_read_group.write_node IS NOT NULL
       AND NOT EXISTS (SELECT FROM shardroute.node n WHERE n.name = create_read_group.write_node) THEN
        PERFORM shardroute._unknown('node', create_read_group.write_node);
    END IF;
    INSERT INTO shardroute.read_group (name, write_node) VALUES (create_read_group.name, create_read_group.write_node);
EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'read group "%" already exists', create_read_group.name USING ERRCODE = 'duplicate_object';
END $$;
COMMENT ON FUNCTION @extschema@.create_read_group(text, text) IS
'Creates a read group: one REPORTING_DATABASES engine or LOAD_BALANCED_APPS app, with its WRITE node. Add READ members with set_read_weight().';

CREATE OR REPLACE FUNCTION @extschema@.drop_sharded_table(cluster text, table_name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM shardroute.shard_cluster c WHERE c.name = drop_sharded_table.cluster) THEN
        PERFORM shardroute._unknown('cluster', drop_sharded_table.cluster);
    END IF;
    DELETE FROM shardroute.sharded_table t
     WHERE t.cluster = drop_sharded_table.cluster AND t.table_name = drop_sharded_table.table_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'table "%" is not a sharded table of cluster "%"', shardroute._shown(drop_sharded_table.table_name),
            shardroute._shown(drop_sharded_table.cluster) USING ERRCODE = 'undefined_object';
    END IF;
END $$;
COMMENT ON FUNCTION @extschema@.drop_sharded_table(text, text) IS 'Forgets a sharded table (the table itself is untouched).';

-- After the operator promoted a standby's server (pg_promote()): its entry
-- becomes a primary node, renamed to new_name when given. It no longer
-- replays its old primary's writes, so it leaves the READ lists it was in
-- (a NOTICE names them). The rest of an online move or split (assign_shards
-- or move_node, plproxy_sync) goes in the same transaction.
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
        PERFORM shardroute._unknown('standby', promote_standby.standby);
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
COMMENT ON FUNCTION @extschema@.promote_standby(text, text) IS
'After the operator promoted a standby''s server: its catalog entry becomes a primary node (renamed to new_name when given) and leaves the READ lists it was in. Then, in the same transaction, give it shards (assign_shards) or a moved node''s address (move_node) and plproxy_sync.';

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['node', 'read_group', 'read_member', 'shard_cluster', 'shard_range'] LOOP
        EXECUTE format('CREATE TRIGGER catalog_before BEFORE INSERT OR UPDATE OR DELETE ON shardroute.%I
                        FOR EACH STATEMENT EXECUTE FUNCTION shardroute._catalog_before()', t);
    END LOOP;
END $$;
REVOKE EXECUTE ON FUNCTION @extschema@._catalog_before() FROM PUBLIC;
