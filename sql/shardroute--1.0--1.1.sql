-- shardroute 1.0 -> 1.1: the correctness and security fixes of 1.1 for a
-- database that installed 1.0. test/t/010_upgrade.pl checks that the result
-- equals a fresh install of 1.1, member by member.
\echo Use "ALTER EXTENSION shardroute UPDATE TO '1.1'" to load this file. \quit

-- PL/Proxy may need another host than applications (Django PLPROXY_HOST)
ALTER TABLE @extschema@.node ADD COLUMN plproxy_host text;

COMMENT ON TABLE @extschema@.node IS
'Database endpoints, named by their Django alias. A standby has primary_node set; max_lag, max_lag_bytes and application_name apply to standbys only. plproxy_host: the host PL/Proxy connects to when it differs from host (Django PLPROXY_HOST). Never holds a password.';

-- TRUNCATE fires no row trigger, so it would skip every rule: refused.
CREATE FUNCTION @extschema@._refuse_truncate() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'cannot truncate %.%', TG_TABLE_SCHEMA, TG_TABLE_NAME USING ERRCODE = 'feature_not_supported',
        DETAIL = 'TRUNCATE skips the rules every change of the shardroute catalog must pass.',
        HINT = 'Use shardroute.drop_cluster(), drop_read_group() or drop_node(), or DELETE, which are validated.';
END $$;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['node', 'read_group', 'read_member', 'shard_cluster', 'shard_range'] LOOP
        EXECUTE format('DROP TRIGGER catalog_changed ON shardroute.%I', t);
        EXECUTE format('CREATE TRIGGER catalog_changed AFTER INSERT OR UPDATE OR DELETE ON shardroute.%I
                        FOR EACH STATEMENT EXECUTE FUNCTION shardroute._catalog_changed()', t);
        EXECUTE format('CREATE TRIGGER refuse_truncate BEFORE TRUNCATE ON shardroute.%I
                        FOR EACH STATEMENT EXECUTE FUNCTION shardroute._refuse_truncate()', t);
    END LOOP;
END $$;

-- names in error messages, clipped
CREATE FUNCTION @extschema@._shown(name text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN octet_length(name) <= 200 THEN name
                ELSE format('%s... (%s bytes)', left(name, 200), octet_length(name)) END
$$;

-- topology changes on a hot standby fail with a clear read-only error
CREATE OR REPLACE FUNCTION @extschema@._lock_catalog() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- on a hot standby the catalog follows the primary through WAL
    IF pg_is_in_recovery() THEN
        RAISE EXCEPTION 'the shardroute catalog is read-only on a standby' USING ERRCODE = 'read_only_sql_transaction',
            DETAIL = 'This server is a hot standby: its catalog follows the primary through WAL.',
            HINT = 'Change the topology on the primary; the standbys follow.';
    END IF;
    LOCK TABLE shardroute.node IN SHARE ROW EXCLUSIVE MODE;
END $$;

-- alter_node gains a trailing plproxy_host argument
DROP FUNCTION @extschema@.alter_node(text, text, int, text, text, text, text, interval, int8, text);

CREATE FUNCTION @extschema@.alter_node(name text, host text DEFAULT NULL, port int DEFAULT NULL,
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
        RAISE EXCEPTION 'node "%" does not exist', shardroute._shown(alter_node.name) USING ERRCODE = 'undefined_object';
    END IF;
END $$;

COMMENT ON FUNCTION @extschema@.alter_node(text, text, int, text, text, text, text, interval, int8, text, text) IS
'Changes a node. NULL keeps a value; '''' clears an optional text value (dbname, options, citus_role, citus_node_name, application_name, plproxy_host). plproxy_host: the host PL/Proxy connects to when it differs from host.';

CREATE OR REPLACE FUNCTION @extschema@.drop_node(name text, force bool DEFAULT false) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE refs text[];
BEGIN
    PERFORM shardroute._lock_catalog();
    IF NOT EXISTS (SELECT 1 FROM shardroute.node n WHERE n.name = drop_node.name) THEN
        RAISE EXCEPTION 'node "%" does not exist', shardroute._shown(drop_node.name) USING ERRCODE = 'undefined_object';
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
        RAISE EXCEPTION 'cluster "%" does not exist', shardroute._shown(assign_shards.cluster) USING ERRCODE = 'undefined_object';
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
        RAISE EXCEPTION 'cluster "%" does not exist', shardroute._shown(drop_cluster.name) USING ERRCODE = 'undefined_object';
    END IF;
END $$;

CREATE OR REPLACE FUNCTION @extschema@.set_read_weight(read_group text, node text, weight float8) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM shardroute._lock_catalog();
    IF NOT EXISTS (SELECT 1 FROM shardroute.read_group g WHERE g.name = set_read_weight.read_group) THEN
        RAISE EXCEPTION 'read group "%" does not exist', shardroute._shown(set_read_weight.read_group) USING ERRCODE = 'undefined_object';
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

CREATE OR REPLACE FUNCTION @extschema@.drop_read_group(name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM shardroute._lock_catalog();
    DELETE FROM shardroute.read_member m WHERE m.read_group = drop_read_group.name;
    DELETE FROM shardroute.read_group g WHERE g.name = drop_read_group.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'read group "%" does not exist', shardroute._shown(drop_read_group.name) USING ERRCODE = 'undefined_object';
    END IF;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._django_plan(settings jsonb, replace bool) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'shardroute_django_plan' LANGUAGE C STABLE;

CREATE OR REPLACE FUNCTION @extschema@.plproxy_sync(cluster text, server text DEFAULT NULL, for_standbys bool DEFAULT false,
                                         options jsonb DEFAULT NULL) RETURNS text
    AS 'MODULE_PATHNAME', 'shardroute_plproxy_sync' LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION @extschema@.move_node(name text, host text, port int DEFAULT NULL, dbname text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE c text;
BEGIN
    PERFORM shardroute._lock_catalog();
    -- the node is somewhere else now: an old plproxy_host would keep PL/Proxy on the old server
    PERFORM shardroute.alter_node(move_node.name, host => move_node.host, port => move_node.port,
                                  dbname => move_node.dbname, plproxy_host => '');
    -- every PL/Proxy server of a cluster that uses the node (as owner, or as an owner's standby)
    FOR c IN SELECT DISTINCT r.cluster FROM shardroute.shard_range r
              WHERE r.node = move_node.name
                 OR r.node = (SELECT n.primary_node FROM shardroute.node n WHERE n.name = move_node.name)
              ORDER BY 1 LOOP
        IF EXISTS (SELECT 1 FROM pg_foreign_server s JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw
                    WHERE s.srvname = c AND w.fdwname = 'plproxy') THEN
            PERFORM shardroute.plproxy_sync(c);
        END IF;
        IF EXISTS (SELECT 1 FROM pg_foreign_server s JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw
                    WHERE s.srvname = c || '_standby' AND w.fdwname = 'plproxy') THEN
            PERFORM shardroute.plproxy_sync(c, for_standbys => true);
        END IF;
    END LOOP;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._citus_table_facts(tbl regclass, distribution_column name, reference bool) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    citus bool := EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus');
    workers int := 0;
    factor int := 1;
    kinds jsonb := '{}';
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'table must not be NULL' USING ERRCODE = 'null_value_not_allowed',
            HINT = 'Pass the table to check, e.g. citus_check_table(''app_model''::regclass).';
    END IF;
    IF citus THEN
        EXECUTE 'SELECT count(*)::int FROM pg_dist_node WHERE isactive AND noderole = ''primary'' AND groupid <> 0'
            INTO workers;
        factor := current_setting('citus.shard_replication_factor')::int;
        EXECUTE $q$SELECT coalesce(jsonb_object_agg(logicalrelid::oid::text, jsonb_build_object('kind', partmethod::text,
                       'col', CASE WHEN partmethod = 'h' THEN column_to_column_name(logicalrelid, partkey) END)), '{}')
                   FROM pg_dist_partition$q$ INTO kinds;
    END IF;
    RETURN jsonb_build_object(
        'table', tbl::text, 'reference', reference, 'distribution_column', distribution_column,
        'citus_installed', citus, 'active_workers', workers, 'replication_factor', factor,
        'columns', (SELECT jsonb_agg(attname ORDER BY attnum) FROM pg_attribute
                    WHERE attrelid = tbl AND attnum > 0 AND NOT attisdropped),
        'constraints', coalesce((SELECT jsonb_agg(jsonb_build_object(
            'type', c.contype, 'name', c.conname,
            'columns', (SELECT jsonb_agg(a.attname ORDER BY k.ord) FROM unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
                        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum),
            'ref_table', CASE WHEN c.contype = 'f' THEN c.confrelid::regclass::text END,
            'ref_columns', (SELECT jsonb_agg(a.attname ORDER BY k.ord) FROM unnest(c.confkey) WITH ORDINALITY k(attnum, ord)
                            JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum),
            'ref_kind', coalesce(kinds -> c.confrelid::oid::text ->> 'kind', 'local'),
            'ref_distribution_column', kinds -> c.confrelid::oid::text ->> 'col',
            'on_delete', c.confdeltype::text, 'on_update', c.confupdtype::text) ORDER BY c.conname)
            FROM pg_constraint c WHERE c.conrelid = tbl AND c.contype IN ('p', 'u', 'x', 'f')), '[]'),
        'incoming', coalesce((SELECT jsonb_agg(jsonb_build_object(
            'table', c.conrelid::regclass::text,
            'columns', (SELECT jsonb_agg(a.attname ORDER BY k.ord) FROM unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
                        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum),
            'kind', coalesce(kinds -> c.conrelid::oid::text ->> 'kind', 'local'),
            -- Django's many-to-many through table: two foreign keys and a unique pair over them
            'many_to_many', (SELECT count(*) FROM pg_constraint f WHERE f.conrelid = c.conrelid AND f.contype = 'f') = 2
                            AND u.conkey IS NOT NULL,
            'unique_columns', (SELECT jsonb_agg(a.attname ORDER BY k.ord) FROM unnest(u.conkey) WITH ORDINALITY k(attnum, ord)
                               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum)) ORDER BY c.conname)
            FROM pg_constraint c
            LEFT JOIN LATERAL (SELECT x.conkey FROM pg_constraint x WHERE x.conrelid = c.conrelid AND x.contype = 'u'
                               AND array_length(x.conkey, 1) = 2 LIMIT 1) u ON true
            WHERE c.confrelid = tbl AND c.contype = 'f' AND c.conrelid <> tbl), '[]'));
END $$;

CREATE OR REPLACE FUNCTION @extschema@.citus_register(dry_run bool DEFAULT false)
RETURNS TABLE (node text, action text, command text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s record;
    citus bool := EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus');
    present bool;
BEGIN
    dry_run := coalesce(dry_run, false);  -- NULL is the default
    IF NOT citus AND NOT dry_run THEN
        RAISE EXCEPTION 'Citus is not installed in this database' USING ERRCODE = 'undefined_object',
            HINT = 'CREATE EXTENSION citus; on the coordinator and every worker (or pass dry_run => true to see the commands).';
    END IF;
    FOR s IN SELECT * FROM shardroute._citus_plan() LOOP
        node := s.node;
        IF s.kind = 'coordinator' THEN
            command := format('SELECT citus_set_coordinator_host(%L, %s)', s.host, s.port);
            present := false;
            IF citus THEN
                EXECUTE 'SELECT EXISTS (SELECT 1 FROM pg_dist_node WHERE groupid = 0)' INTO present;
            END IF;
            action := CASE WHEN present THEN 'present' WHEN dry_run THEN 'would set coordinator' ELSE 'coordinator set' END;
        ELSE
            command := format('SELECT citus_add_node(%L, %s)', s.host, s.port);
            present := false;
            IF citus THEN
                EXECUTE 'SELECT EXISTS (SELECT 1 FROM pg_dist_node WHERE nodename = $1 AND nodeport = $2)'
                    INTO present USING s.host, s.port::int;
            END IF;
            action := CASE WHEN present THEN 'present' WHEN dry_run THEN 'would add' ELSE 'added' END;
        END IF;
        IF NOT present AND NOT dry_run THEN
            EXECUTE command;
        END IF;
        RETURN NEXT;
    END LOOP;
END $$;

COMMENT ON FUNCTION @extschema@.plproxy_sync(text, text, bool, jsonb) IS
'Creates or updates the PL/Proxy SQL/MED server of a cluster (default name: the cluster, or <cluster>_standby with for_standbys): one p0000.. option per shard with the owning node''s conninfo (its standby''s, for standbys); only changed options are altered. options: PL/Proxy settings (defaults connection_lifetime 1800, disable_binary 1; NULL keeps the server''s own). Writes only servers it generated for this cluster, or servers the caller owns. Returns the server name.';

COMMENT ON FUNCTION @extschema@.replication_caught_up(text) IS
'True when the standby streams from this server and has replayed everything this server has flushed: check it before promoting.';

COMMENT ON FUNCTION @extschema@.move_node(text, text, int, text) IS
'The configuration half of moving a shard database to a new host: updates the node (clearing its plproxy_host) and re-syncs every PL/Proxy server (primary and standby clusters) that uses it, in one transaction.';

REVOKE EXECUTE ON FUNCTION @extschema@._refuse_truncate(),
    @extschema@.alter_node(text, text, int, text, text, text, text, interval, int8, text, text)
FROM PUBLIC;

REVOKE EXECUTE ON FUNCTION @extschema@.standby_status(), @extschema@.replication_caught_up(text) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION @extschema@.standby_status(), @extschema@.replication_caught_up(text) TO pg_read_all_stats;
