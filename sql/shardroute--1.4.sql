-- shardroute 1.3: install script (older databases update with shardroute--1.0--1.1.sql, shardroute--1.1--1.2.sql, shardroute--1.2--1.3.sql)
\echo Use "CREATE EXTENSION shardroute" to load this file. \quit

------------------------------------------------------------------------------
-- Hashing: a drop-in for pghashlib's hash_string/hash64_string, usable in
-- PL/Proxy's RUN ON. All IMMUTABLE STRICT PARALLEL SAFE.
------------------------------------------------------------------------------

CREATE FUNCTION @extschema@.hash_string(data text, algorithm text) RETURNS int4
    AS 'MODULE_PATHNAME', 'shardroute_hash_string' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.hash_string(text, text) IS
'Hash of the text''s bytes as int4. ''siphash24'' is byte-exact with pghashlib hash_string(data, ''siphash24'') (SipHash-2-4, zero key, low 32 bits): the CommCare shard hash, usable in PL/Proxy RUN ON. ''hashtext'' is PostgreSQL''s hashtext().';

CREATE FUNCTION @extschema@.hash_string(data bytea, algorithm text) RETURNS int4
    AS 'MODULE_PATHNAME', 'shardroute_hash_string' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.hash_string(bytea, text) IS
'Hash of raw bytes as int4; same algorithms as hash_string(text, text).';

CREATE FUNCTION @extschema@.hash_string(data text, algorithm text, seed int4) RETURNS int4
    AS 'MODULE_PATHNAME', 'shardroute_hash_string' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.hash_string(text, text, int4) IS
'Seeded hash as pghashlib computes it: for siphash24 the key is (seed sign-extended, 0).';

CREATE FUNCTION @extschema@.hash_string(data bytea, algorithm text, seed int4) RETURNS int4
    AS 'MODULE_PATHNAME', 'shardroute_hash_string' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.hash_string(bytea, text, int4) IS
'Seeded hash of raw bytes; see hash_string(text, text, int4).';

CREATE FUNCTION @extschema@.hash64_string(data text, algorithm text) RETURNS int8
    AS 'MODULE_PATHNAME', 'shardroute_hash64_string' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.hash64_string(text, text) IS
'The whole 64-bit hash word as int8 (pghashlib hash64_string).';

CREATE FUNCTION @extschema@.hash64_string(data bytea, algorithm text) RETURNS int8
    AS 'MODULE_PATHNAME', 'shardroute_hash64_string' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.hash64_string(bytea, text) IS
'The whole 64-bit hash word of raw bytes as int8.';

CREATE FUNCTION @extschema@.hash64_string(data text, algorithm text, k0 int8) RETURNS int8
    AS 'MODULE_PATHNAME', 'shardroute_hash64_string' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.hash64_string(text, text, int8) IS
'64-bit hash with key (k0, 0); for hashtext, k0 is the extended-hash seed.';

CREATE FUNCTION @extschema@.hash64_string(data bytea, algorithm text, k0 int8) RETURNS int8
    AS 'MODULE_PATHNAME', 'shardroute_hash64_string' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.hash64_string(bytea, text, int8) IS
'64-bit hash of raw bytes with key (k0, 0).';

CREATE FUNCTION @extschema@.hash64_string(data text, algorithm text, k0 int8, k1 int8) RETURNS int8
    AS 'MODULE_PATHNAME', 'shardroute_hash64_string' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.hash64_string(text, text, int8, int8) IS
'64-bit SipHash-2-4 with the full 128-bit key (k0, k1).';

CREATE FUNCTION @extschema@.hash64_string(data bytea, algorithm text, k0 int8, k1 int8) RETURNS int8
    AS 'MODULE_PATHNAME', 'shardroute_hash64_string' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.hash64_string(bytea, text, int8, int8) IS
'64-bit SipHash-2-4 of raw bytes with the full 128-bit key (k0, k1).';

CREATE FUNCTION @extschema@.hash_uuid(id uuid, algorithm text DEFAULT 'siphash24') RETURNS int4
    AS 'MODULE_PATHNAME', 'shardroute_hash_uuid' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.hash_uuid(uuid, text) IS
'Hash of a UUID''s 16 raw bytes, as CommCare hashes UUID document ids.';

------------------------------------------------------------------------------
-- Topology catalog: the source of truth, dumped by pg_dump.
--
-- Table names are chosen so that pg_dump's order (by name) is also a valid
-- load order: node, read_group, read_member, shard_cluster, shard_range. Each
-- restored table commits on its own, and each prefix of that order is valid.
--
-- Rules are checked in two places, both in C++ (src/topology/validate.cpp):
--   * row rules (names, ports, options, weights, ...) by a BEFORE ROW trigger,
--     so a bad value fails at once;
--   * cross-row rules (coverage, references, masters, ...) by a deferred
--     constraint trigger, so a multi-step edit in one transaction is checked
--     at COMMIT, as a whole.
-- A statement trigger sends a relcache invalidation so that every backend's
-- lookup cache reloads after the change commits.
------------------------------------------------------------------------------

GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;

CREATE TABLE @extschema@.node (
    name text PRIMARY KEY,
    host text NOT NULL,
    port int4 NOT NULL DEFAULT 5432,
    dbname text,
    options text,
    citus_role text,
    citus_node_name text,
    primary_node text,
    max_lag interval,
    max_lag_bytes int8,
    application_name text,
    plproxy_host text
);
COMMENT ON TABLE @extschema@.node IS
'Database endpoints, named by their Django alias. A standby has primary_node set; max_lag, max_lag_bytes and application_name apply to standbys only. plproxy_host: the host PL/Proxy connects to when it differs from host (Django PLPROXY_HOST). Never holds a password.';

CREATE TABLE @extschema@.read_group (
    name text PRIMARY KEY,
    write_node text NOT NULL,
    setting text NOT NULL DEFAULT 'REPORTING_DATABASES'
);
COMMENT ON TABLE @extschema@.read_group IS
'A REPORTING_DATABASES engine or LOAD_BALANCED_APPS app: the WRITE node and, in read_member, the weighted READ list.';

CREATE TABLE @extschema@.read_member (
    read_group text NOT NULL,
    node text NOT NULL,
    weight float8 NOT NULL,
    PRIMARY KEY (read_group, node)
);
COMMENT ON TABLE @extschema@.read_member IS 'READ list entries: (alias, weight) of a read group.';

CREATE TABLE @extschema@.shard_cluster (
    name text PRIMARY KEY,
    shard_count int4 NOT NULL DEFAULT 1024,
    algorithm text NOT NULL DEFAULT 'siphash24',
    proxy_node text,
    standby_proxy_node text
);
COMMENT ON TABLE @extschema@.shard_cluster IS
'Sharded clusters (PL_PROXY_CLUSTER_NAME): shard count (a power of 2, fixed for life), hash algorithm and proxy databases.';

CREATE TABLE @extschema@.shard_range (
    cluster text NOT NULL,
    node text NOT NULL,
    first_shard int4 NOT NULL,
    last_shard int4 NOT NULL,
    PRIMARY KEY (cluster, first_shard)
);
COMMENT ON TABLE @extschema@.shard_range IS
'Inclusive shard ranges [first_shard, last_shard] of a cluster held by a node (Django PLPROXY SHARDS).';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.node', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.read_group', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.read_member', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.shard_cluster', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.shard_range', '');

REVOKE ALL ON @extschema@.node, @extschema@.read_group, @extschema@.read_member,
              @extschema@.shard_cluster, @extschema@.shard_range FROM PUBLIC;
GRANT SELECT ON @extschema@.node, @extschema@.read_group, @extschema@.read_member,
                @extschema@.shard_cluster, @extschema@.shard_range TO PUBLIC;

-- trigger functions (C)
CREATE FUNCTION @extschema@._check_row() RETURNS trigger
    AS 'MODULE_PATHNAME', 'shardroute_check_row' LANGUAGE C;
CREATE FUNCTION @extschema@._check_catalog() RETURNS trigger
    AS 'MODULE_PATHNAME', 'shardroute_check_catalog' LANGUAGE C;
CREATE FUNCTION @extschema@._catalog_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'shardroute_catalog_changed' LANGUAGE C;
-- records the catalog before a transaction's first change: the topology NOTIFY
-- names only the tables whose content changed
CREATE FUNCTION @extschema@._catalog_before() RETURNS trigger
    AS 'MODULE_PATHNAME', 'shardroute_catalog_before' LANGUAGE C;
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
        EXECUTE format('CREATE TRIGGER check_row BEFORE INSERT OR UPDATE ON shardroute.%I
                        FOR EACH ROW EXECUTE FUNCTION shardroute._check_row()', t);
        EXECUTE format('CREATE CONSTRAINT TRIGGER check_catalog AFTER INSERT OR UPDATE OR DELETE ON shardroute.%I
                        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION shardroute._check_catalog()', t);
        EXECUTE format('CREATE TRIGGER catalog_changed AFTER INSERT OR UPDATE OR DELETE ON shardroute.%I
                        FOR EACH STATEMENT EXECUTE FUNCTION shardroute._catalog_changed()', t);
        EXECUTE format('CREATE TRIGGER catalog_before BEFORE INSERT OR UPDATE OR DELETE ON shardroute.%I
                        FOR EACH STATEMENT EXECUTE FUNCTION shardroute._catalog_before()', t);
        EXECUTE format('CREATE TRIGGER refuse_truncate BEFORE TRUNCATE ON shardroute.%I
                        FOR EACH STATEMENT EXECUTE FUNCTION shardroute._refuse_truncate()', t);
    END LOOP;
END $$;

-- The whole catalog as one document (keys = table names, fields = columns);
-- max_lag also as microseconds for the C++ side. relids: the tables whose
-- relcache invalidation means "reload". Executable by everyone: the lookup
-- cache of every role loads through it (via _snapshot), and it shows only
-- readable tables.
CREATE FUNCTION @extschema@._catalog_snapshot() RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
SELECT jsonb_build_object(
    'node', coalesce((SELECT jsonb_agg(to_jsonb(n) || jsonb_build_object('max_lag_us',
                          (extract(epoch FROM n.max_lag) * 1000000)::int8) ORDER BY n.name)
                      FROM shardroute.node n), '[]'),
    'read_group', coalesce((SELECT jsonb_agg(to_jsonb(g) ORDER BY g.name) FROM shardroute.read_group g), '[]'),
    'read_member', coalesce((SELECT jsonb_agg(to_jsonb(m) ORDER BY m.read_group, m.node)
                             FROM shardroute.read_member m), '[]'),
    'shard_cluster', coalesce((SELECT jsonb_agg(to_jsonb(c) ORDER BY c.name) FROM shardroute.shard_cluster c), '[]'),
    'shard_range', coalesce((SELECT jsonb_agg(to_jsonb(r) ORDER BY r.cluster, r.first_shard)
                             FROM shardroute.shard_range r), '[]'),
    'relids', jsonb_build_array('shardroute.node'::regclass::oid::int8, 'shardroute.read_group'::regclass::oid::int8,
                                'shardroute.read_member'::regclass::oid::int8, 'shardroute.shard_cluster'::regclass::oid::int8,
                                'shardroute.shard_range'::regclass::oid::int8))
$$;

------------------------------------------------------------------------------
-- Citus workers route with their coordinator's topology. A query Citus pushes
-- down runs its lookups on the workers, whose own catalog tables are not the
-- topology. citus_register() makes citus_topology a Citus reference table; from
-- then on the COMMIT check of every catalog change on the coordinator rewrites
-- it in the same (two-phase) transaction, so each worker holds the catalog as
-- the coordinator last committed it. A statement trigger, which Citus creates
-- on every placement, sends the relcache invalidation of each worker's
-- placement that makes the workers' lookup caches reload. DELETE, not
-- TRUNCATE: TRUNCATE's lock would wait for the placement reads of lookups made
-- earlier in the same distributed transaction (a distributed deadlock), and
-- Citus does not propagate TRUNCATE when DDL propagation is off.
------------------------------------------------------------------------------

CREATE TABLE @extschema@.citus_topology (
    version int8 PRIMARY KEY,  -- a key lets Citus copy the table to new nodes (rebalancer)
    snapshot jsonb NOT NULL,
    shipped_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE @extschema@.citus_topology IS
'On a Citus cluster: the coordinator''s catalog as the workers route with it (a reference table, rewritten by every committed topology change on the coordinator; version counts the changes). Empty without Citus.';
REVOKE ALL ON @extschema@.citus_topology FROM PUBLIC;
GRANT SELECT ON @extschema@.citus_topology TO PUBLIC;

CREATE FUNCTION @extschema@._citus_copy_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'shardroute_citus_copy_changed' LANGUAGE C;
CREATE TRIGGER copy_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.citus_topology
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._citus_copy_changed();

-- True on a Citus worker: a node of a Citus cluster that is not its coordinator.
CREATE FUNCTION @extschema@._citus_worker() RETURNS bool
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    worker bool;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
        RETURN false;
    END IF;
    EXECUTE 'SELECT coalesce((SELECT groupid <> 0 FROM pg_dist_local_group), false)' INTO worker;
    RETURN worker;
END $$;

-- On a Citus worker: its placement of citus_topology, when Citus lists one on
-- this node (the leftover table of a node that was disabled is not one), and
-- the version it holds.
CREATE FUNCTION @extschema@._citus_copy(OUT placement regclass, OUT version int8, OUT snapshot jsonb)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE $q$SELECT to_regclass(format('shardroute.%I', 'citus_topology_' || s.shardid))
                 FROM pg_dist_shard s JOIN pg_dist_placement p ON p.shardid = s.shardid
                WHERE s.logicalrelid = 'shardroute.citus_topology'::regclass
                  AND p.groupid = (SELECT groupid FROM pg_dist_local_group)$q$ INTO placement;
    IF placement IS NOT NULL THEN
        EXECUTE format('SELECT version, snapshot FROM %s ORDER BY version DESC LIMIT 1', placement)
            INTO version, snapshot;
    END IF;
END $$;

-- The topology this node routes with (see _catalog_snapshot): its own catalog,
-- or on a Citus worker the coordinator's, read from the worker's own placement
-- of citus_topology (within a query Citus pushed down, a query on the
-- distributed table itself is refused). relids there: the placement, and the
-- table, whose relcache Citus invalidates when its placements change. A worker
-- without a copy raises an error rather than route with its own, empty catalog.
CREATE FUNCTION @extschema@._snapshot() RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    copy record;
BEGIN
    IF NOT shardroute._citus_worker() THEN
        RETURN shardroute._catalog_snapshot();
    END IF;
    copy := shardroute._citus_copy();
    IF copy.snapshot IS NULL THEN
        RAISE EXCEPTION 'this Citus worker holds no copy of its coordinator''s shardroute topology'
            USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = 'Lookups that Citus pushes down to a worker route with the topology the coordinator ships to it.',
            HINT = 'On the coordinator: SELECT * FROM shardroute.citus_register(); (it copies the topology to every active worker).';
    END IF;
    RETURN copy.snapshot || jsonb_build_object('relids', jsonb_build_array(copy.placement::oid::int8,
                                                                           'shardroute.citus_topology'::regclass::oid::int8));
END $$;

-- On the coordinator, once citus_topology is a Citus reference table: writes
-- `snapshot` (the catalog just validated at COMMIT, or by citus_register) into
-- it when it differs from what the workers hold, or always with `force`.
-- Returns the version the workers now hold (NULL when there is nothing to ship to).
CREATE FUNCTION @extschema@._citus_ship(snapshot jsonb, force bool DEFAULT false) RETURNS int8
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    distributed bool;
    held record;
    target jsonb := snapshot - 'relids';
    state text;
    message text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') OR shardroute._citus_worker() THEN
        RETURN NULL;
    END IF;
    EXECUTE $q$SELECT EXISTS (SELECT 1 FROM pg_dist_partition
                               WHERE logicalrelid = 'shardroute.citus_topology'::regclass)$q$ INTO distributed;
    IF NOT distributed THEN
        RETURN NULL;
    END IF;
    SELECT t.version, t.snapshot INTO held FROM shardroute.citus_topology t ORDER BY t.version DESC LIMIT 1;
    IF held.snapshot = target AND NOT force THEN
        RETURN held.version;
    END IF;
    BEGIN
        DELETE FROM shardroute.citus_topology;
        INSERT INTO shardroute.citus_topology (version, snapshot) VALUES (coalesce(held.version, 0) + 1, target);
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT;
        IF state NOT LIKE '08%' THEN
            RAISE;  -- a serialization failure, a deadlock...: as it is (retryable as it says)
        END IF;
        RAISE EXCEPTION 'cannot ship the shardroute topology to the Citus workers: %', message USING ERRCODE = state,
            DETAIL = 'On a Citus coordinator every topology change reaches each active worker in the same transaction, '
                     'so that lookups in distributed queries route as the coordinator does.',
            HINT = 'Bring the worker back, or take it out of the cluster: citus_disable_node(..., synchronous => true) or citus_remove_node.';
    END;
    RETURN coalesce(held.version, 0) + 1;
END $$;

-- A Citus worker routes with the copy: a change to its own catalog would be
-- ignored, so it is refused.
CREATE FUNCTION @extschema@._refuse_on_citus_worker() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF shardroute._citus_worker() THEN
        RAISE EXCEPTION 'cannot change the shardroute catalog on a Citus worker'
            USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = 'A Citus worker routes with the topology its coordinator ships to it (shardroute.citus_topology).',
            HINT = 'Change the topology on the Citus coordinator.';
    END IF;
    RETURN NULL;
END $$;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['node', 'read_group', 'read_member', 'shard_cluster', 'shard_range'] LOOP
        EXECUTE format('CREATE TRIGGER refuse_on_citus_worker BEFORE INSERT OR UPDATE OR DELETE ON shardroute.%I
                        FOR EACH STATEMENT EXECUTE FUNCTION shardroute._refuse_on_citus_worker()', t);
    END LOOP;
END $$;

-- Active workers whose copy differs from the coordinator's (version and
-- content), or cannot be read: result 'none' for no copy, else the error.
CREATE FUNCTION @extschema@._citus_stale_workers()
RETURNS TABLE (nodename text, nodeport int, success bool, result text, expected text)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    SELECT t.version || ':' || md5(t.snapshot::text) INTO expected FROM shardroute.citus_topology t
     WHERE EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')
     ORDER BY t.version DESC LIMIT 1;
    RETURN QUERY EXECUTE $q$
        SELECT w.nodename, w.nodeport, w.success, w.result, $1
          FROM run_command_on_workers(
                 'SELECT coalesce(c.version || '':'' || md5(c.snapshot::text), ''none'') FROM shardroute._citus_copy() c') w
         WHERE NOT w.success OR w.result IS DISTINCT FROM $1 $q$ USING expected;
END $$;

REVOKE EXECUTE ON FUNCTION @extschema@._citus_ship(jsonb, bool), @extschema@._refuse_on_citus_worker(),
    @extschema@._citus_copy_changed(), @extschema@._citus_stale_workers() FROM PUBLIC;

-- A user-supplied name as error messages show it: cut after 200 bytes, so an
-- absurd argument is not echoed whole into errors and the server log (the C++
-- side does the same in quoted_name()).
CREATE FUNCTION @extschema@._shown(name text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN octet_length(name) <= 200 THEN name
                ELSE format('%s... (%s bytes)', left(name, 200), octet_length(name)) END
$$;

-- Raises 42704 for an unknown node, standby, cluster or read group: the error
-- the C++ functions raise for the same mistake (_raise_unknown builds both).
CREATE FUNCTION @extschema@._raise_unknown(kind text, name text, known text[]) RETURNS void
    AS 'MODULE_PATHNAME', 'shardroute_raise_unknown' LANGUAGE C STABLE;
CREATE FUNCTION @extschema@._unknown(kind text, name text) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM shardroute._raise_unknown(kind, name, CASE kind
        WHEN 'node' THEN ARRAY(SELECT x.name FROM shardroute.node x)
        WHEN 'standby' THEN ARRAY(SELECT x.name FROM shardroute.node x WHERE x.primary_node IS NOT NULL)
        WHEN 'cluster' THEN ARRAY(SELECT x.name FROM shardroute.shard_cluster x)
        WHEN 'read group' THEN ARRAY(SELECT x.name FROM shardroute.read_group x)
    END);
END $$;

-- Serializes writers of the catalog (readers are never blocked), so that two
-- transactions cannot each pass validation and together break a rule.
CREATE FUNCTION @extschema@._lock_catalog() RETURNS void
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

-- Makes the catalog equal to a snapshot document, touching only rows that differ.
CREATE FUNCTION @extschema@._apply_snapshot(target jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM shardroute.node t WHERE NOT EXISTS
        (SELECT 1 FROM jsonb_populate_recordset(NULL::shardroute.node, target->'node') s WHERE s IS NOT DISTINCT FROM t);
    INSERT INTO shardroute.node SELECT * FROM jsonb_populate_recordset(NULL::shardroute.node, target->'node') s
        WHERE NOT EXISTS (SELECT 1 FROM shardroute.node t WHERE s IS NOT DISTINCT FROM t);

    DELETE FROM shardroute.read_group t WHERE NOT EXISTS
        (SELECT 1 FROM jsonb_populate_recordset(NULL::shardroute.read_group, target->'read_group') s WHERE s IS NOT DISTINCT FROM t);
    INSERT INTO shardroute.read_group SELECT * FROM jsonb_populate_recordset(NULL::shardroute.read_group, target->'read_group') s
        WHERE NOT EXISTS (SELECT 1 FROM shardroute.read_group t WHERE s IS NOT DISTINCT FROM t);

    DELETE FROM shardroute.read_member t WHERE NOT EXISTS
        (SELECT 1 FROM jsonb_populate_recordset(NULL::shardroute.read_member, target->'read_member') s WHERE s IS NOT DISTINCT FROM t);
    INSERT INTO shardroute.read_member SELECT * FROM jsonb_populate_recordset(NULL::shardroute.read_member, target->'read_member') s
        WHERE NOT EXISTS (SELECT 1 FROM shardroute.read_member t WHERE s IS NOT DISTINCT FROM t);

    -- a cluster's shard count is fixed for life: changed clusters are updated in place
    -- (so the row trigger refuses a new count), never deleted and re-created
    UPDATE shardroute.shard_cluster t SET shard_count = s.shard_count, algorithm = s.algorithm,
           proxy_node = s.proxy_node, standby_proxy_node = s.standby_proxy_node
      FROM jsonb_populate_recordset(NULL::shardroute.shard_cluster, target->'shard_cluster') s
     WHERE s.name = t.name AND s IS DISTINCT FROM t;
    DELETE FROM shardroute.shard_cluster t WHERE NOT EXISTS
        (SELECT 1 FROM jsonb_populate_recordset(NULL::shardroute.shard_cluster, target->'shard_cluster') s WHERE s.name = t.name);
    INSERT INTO shardroute.shard_cluster SELECT * FROM jsonb_populate_recordset(NULL::shardroute.shard_cluster, target->'shard_cluster') s
        WHERE NOT EXISTS (SELECT 1 FROM shardroute.shard_cluster t WHERE s.name = t.name);

    DELETE FROM shardroute.shard_range t WHERE NOT EXISTS
        (SELECT 1 FROM jsonb_populate_recordset(NULL::shardroute.shard_range, target->'shard_range') s WHERE s IS NOT DISTINCT FROM t);
    INSERT INTO shardroute.shard_range SELECT * FROM jsonb_populate_recordset(NULL::shardroute.shard_range, target->'shard_range') s
        WHERE NOT EXISTS (SELECT 1 FROM shardroute.shard_range t WHERE s IS NOT DISTINCT FROM t);
END $$;

------------------------------------------------------------------------------
-- Topology functions. SECURITY DEFINER so that EXECUTE is the only privilege
-- an operator needs; revoked from PUBLIC at the end of this section.
------------------------------------------------------------------------------

CREATE FUNCTION @extschema@.add_node(name text, host text, port int DEFAULT 5432, dbname text DEFAULT NULL,
                                     options text DEFAULT NULL, citus_role text DEFAULT NULL,
                                     citus_node_name text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM shardroute._lock_catalog();
    INSERT INTO shardroute.node (name, host, port, dbname, options, citus_role, citus_node_name)
    VALUES (add_node.name, add_node.host, coalesce(add_node.port, 5432), add_node.dbname, add_node.options,
            add_node.citus_role, add_node.citus_node_name);
EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'node "%" already exists', add_node.name USING ERRCODE = 'duplicate_object',
        HINT = 'Use shardroute.alter_node() to change it.';
END $$;
COMMENT ON FUNCTION @extschema@.add_node(text, text, int, text, text, text, text) IS
'Registers a database endpoint under its Django alias. options: extra libpq keywords (never password: use .pgpass or a user mapping). citus_role: coordinator or worker; citus_node_name: host:port the Citus coordinator uses.';

CREATE FUNCTION @extschema@.add_standby(name text, primary_node text, host text, port int DEFAULT 5432,
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
        PERFORM shardroute._unknown('node', alter_node.name);
    END IF;
END $$;
COMMENT ON FUNCTION @extschema@.alter_node(text, text, int, text, text, text, text, interval, int8, text, text) IS
'Changes a node. NULL keeps a value; '''' clears an optional text value (dbname, options, citus_role, citus_node_name, application_name, plproxy_host). plproxy_host: the host PL/Proxy connects to when it differs from host.';

CREATE FUNCTION @extschema@.drop_node(name text, force bool DEFAULT false) RETURNS void
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
COMMENT ON FUNCTION @extschema@.drop_node(text, bool) IS
'Removes a node. Refuses while anything refers to it (standbys, shards, proxies, read groups) unless force, which removes those references too.';

CREATE FUNCTION @extschema@.create_cluster(name text, shard_count int DEFAULT 1024, algorithm text DEFAULT 'siphash24',
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

CREATE FUNCTION @extschema@.assign_shards(cluster text, node text, first_shard int, last_shard int) RETURNS void
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
COMMENT ON FUNCTION @extschema@.assign_shards(text, text, int, int) IS
'Assigns the inclusive shard range [first_shard, last_shard] of a cluster to a node; shards another node holds move to this node. Coverage (from 0, no gaps) is checked at COMMIT, so several calls in one transaction can reshape a cluster.';

CREATE FUNCTION @extschema@.drop_cluster(name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM shardroute._lock_catalog();
    DELETE FROM shardroute.shard_range r WHERE r.cluster = drop_cluster.name;
    DELETE FROM shardroute.shard_cluster c WHERE c.name = drop_cluster.name;
    IF NOT FOUND THEN
        PERFORM shardroute._unknown('cluster', drop_cluster.name);
    END IF;
END $$;
COMMENT ON FUNCTION @extschema@.drop_cluster(text) IS 'Removes a cluster and its shard ranges.';

CREATE FUNCTION @extschema@.create_read_group(name text, write_node text) RETURNS void
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

CREATE FUNCTION @extschema@.set_read_weight(read_group text, node text, weight float8) RETURNS void
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
COMMENT ON FUNCTION @extschema@.set_read_weight(text, text, float8) IS
'Sets the weight of a node in a read group''s READ list (weight >= 0; 0 removes it). A READ list may hold one master and standbys of that master.';

CREATE FUNCTION @extschema@.drop_read_group(name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM shardroute._lock_catalog();
    DELETE FROM shardroute.read_member m WHERE m.read_group = drop_read_group.name;
    DELETE FROM shardroute.read_group g WHERE g.name = drop_read_group.name;
    IF NOT FOUND THEN
        PERFORM shardroute._unknown('read group', drop_read_group.name);
    END IF;
END $$;
COMMENT ON FUNCTION @extschema@.drop_read_group(text) IS 'Removes a read group and its READ list.';

CREATE FUNCTION @extschema@.check_topology() RETURNS TABLE (object text, problem text)
    AS 'MODULE_PATHNAME', 'shardroute_check_topology' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION @extschema@.check_topology() IS
'Every rule violation in the catalog at once, one row each, naming the object and the rule; no rows = valid.';

-- Django settings bridge (src/topology/django.cpp)
CREATE FUNCTION @extschema@._django_plan(settings jsonb, replace bool) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'shardroute_django_plan' LANGUAGE C STABLE;

CREATE FUNCTION @extschema@.import_django_settings(settings jsonb, replace bool DEFAULT false)
RETURNS TABLE (kind text, name text, action text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE plan jsonb;
BEGIN
    PERFORM shardroute._lock_catalog();
    plan := shardroute._django_plan(settings, coalesce(replace, false));
    PERFORM shardroute._apply_snapshot(plan->'target');
    RETURN QUERY SELECT a->>0, a->>1, a->>2 FROM jsonb_array_elements(plan->'actions') a;
END $$;
COMMENT ON FUNCTION @extschema@.import_django_settings(jsonb, bool) IS
'Loads CommCare Django settings ({"DATABASES", "REPORTING_DATABASES", "LOAD_BALANCED_APPS", "PL_PROXY_CLUSTER_NAME"}) into the catalog, validated with the CommCare rules. replace: make the catalog exactly the document. PASSWORD values are never imported.';

CREATE FUNCTION @extschema@.export_django_settings() RETURNS jsonb
    AS 'MODULE_PATHNAME', 'shardroute_export_django_settings' LANGUAGE C STABLE;
COMMENT ON FUNCTION @extschema@.export_django_settings() IS
'The catalog as CommCare Django settings: the inverse of import_django_settings().';

REVOKE EXECUTE ON FUNCTION
    @extschema@._check_row(), @extschema@._check_catalog(), @extschema@._catalog_changed(), @extschema@._refuse_truncate(),
    @extschema@._catalog_before(),
    @extschema@._lock_catalog(), @extschema@._apply_snapshot(jsonb),
    @extschema@._django_plan(jsonb, bool),
    @extschema@.add_node(text, text, int, text, text, text, text),
    @extschema@.add_standby(text, text, text, int, text, interval, int8, text),
    @extschema@.alter_node(text, text, int, text, text, text, text, interval, int8, text, text),
    @extschema@.drop_node(text, bool),
    @extschema@.create_cluster(text, int, text, text, text),
    @extschema@.assign_shards(text, text, int, int),
    @extschema@.drop_cluster(text),
    @extschema@.create_read_group(text, text),
    @extschema@.set_read_weight(text, text, float8),
    @extschema@.drop_read_group(text),
    @extschema@.import_django_settings(jsonb, bool)
FROM PUBLIC;

------------------------------------------------------------------------------
-- Lookups: read a backend-local cache of the catalog, reloaded only after a
-- relcache invalidation of a catalog table. No SPI or catalog scan per call.
------------------------------------------------------------------------------

CREATE FUNCTION @extschema@.shard_for_key(cluster text, key text) RETURNS int4
    AS 'MODULE_PATHNAME', 'shardroute_shard_for_key' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.shard_for_key(text, text) IS
'The shard of a key: hash_string(key, cluster algorithm) & (shard_count - 1), as PL/Proxy RUN ON computes it.';
CREATE FUNCTION @extschema@.shard_for_key(cluster text, key uuid) RETURNS int4
    AS 'MODULE_PATHNAME', 'shardroute_shard_for_uuid' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.shard_for_key(text, uuid) IS
'The shard of a UUID key, hashed as its 16 raw bytes.';

CREATE FUNCTION @extschema@.node_for_key(cluster text, key text) RETURNS text
    AS 'MODULE_PATHNAME', 'shardroute_node_for_key' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.node_for_key(text, text) IS 'The node (Django alias) that owns the key''s shard.';
CREATE FUNCTION @extschema@.node_for_key(cluster text, key uuid) RETURNS text
    AS 'MODULE_PATHNAME', 'shardroute_node_for_uuid' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.node_for_key(text, uuid) IS 'The node that owns a UUID key''s shard (16 raw bytes hashed).';

CREATE FUNCTION @extschema@.node_for_shard(cluster text, shard int) RETURNS text
    AS 'MODULE_PATHNAME', 'shardroute_node_for_shard' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.node_for_shard(text, int) IS 'The node that owns a shard.';

CREATE FUNCTION @extschema@.route_keys(cluster text, keys text[]) RETURNS TABLE (node text, keys text[])
    AS 'MODULE_PATHNAME', 'shardroute_route_keys' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.route_keys(text, text[]) IS
'Groups many keys by owning node in one call: one row per node, keys in input order.';

CREATE FUNCTION @extschema@.conninfo(node text) RETURNS text
    AS 'MODULE_PATHNAME', 'shardroute_conninfo' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.conninfo(text) IS
'libpq connection string of a node (host, port, dbname and its options; never a password).';

------------------------------------------------------------------------------
-- Read routing: weighted, lag-aware choice among a read group's members, from
-- this server's pg_stat_replication (walsender shared memory, no SQL).
------------------------------------------------------------------------------

CREATE FUNCTION @extschema@.choose_read_node(read_group text) RETURNS text
    AS 'MODULE_PATHNAME', 'shardroute_choose_read_node' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.choose_read_node(text) IS
'Weighted random choice among the read group''s eligible READ members (a primary always; a standby when streaming within max_lag and max_lag_bytes); the WRITE node when none is eligible.';

CREATE FUNCTION @extschema@.choose_read_node(read_group text, min_lsn pg_lsn) RETURNS text
    AS 'MODULE_PATHNAME', 'shardroute_choose_read_node_lsn' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.choose_read_node(text, pg_lsn) IS
'Read-your-writes: like choose_read_node(read_group), but a standby must also have replayed min_lsn (pass pg_current_wal_lsn() taken after the write).';

CREATE FUNCTION @extschema@.read_node_for_key(cluster text, key text) RETURNS text
    AS 'MODULE_PATHNAME', 'shardroute_read_node_for_key' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.read_node_for_key(text, text) IS
'The node owning the key''s shard, or one of its eligible standbys when it has any.';

CREATE FUNCTION @extschema@.standby_status()
RETURNS TABLE (node text, primary_node text, state text, replay_lag interval, lag_bytes int8,
               max_lag interval, max_lag_bytes int8, eligible bool, reason text, source text, sample_age interval,
               monitor_error text, monitor_error_at timestamptz, monitor_ok_at timestamptz)
    AS 'MODULE_PATHNAME', 'shardroute_standby_status' LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.standby_status() IS
'One row per registered standby: its pg_stat_replication state, replay lag and WAL bytes behind, its limits, and whether it is eligible for reads (reason: ok, lag, lag bytes, not connected, not streaming, lag unknown). source: where the lag was read (local walsender, primary, standby itself; "lag monitor not running" without shared_preload_libraries); sample_age: how old that reading is. monitor_error, monitor_error_at: the lag monitor''s last failed poll of it (kept after later successes), monitor_ok_at: its last sample.';

------------------------------------------------------------------------------
-- PL/Proxy: cluster servers generated from the catalog.
------------------------------------------------------------------------------

CREATE FUNCTION @extschema@.plproxy_sync(cluster text, server text DEFAULT NULL, for_standbys bool DEFAULT false,
                                         options jsonb DEFAULT NULL) RETURNS text
    AS 'MODULE_PATHNAME', 'shardroute_plproxy_sync' LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
-- Not SECURITY DEFINER: it checks the caller's right to each server itself,
-- and writes shardroute's own servers as the extension owner.
COMMENT ON FUNCTION @extschema@.plproxy_sync(text, text, bool, jsonb) IS
'Creates or updates the PL/Proxy SQL/MED server of a cluster (default name: the cluster, or <cluster>_standby with for_standbys): one p0000.. option per shard with the owning node''s conninfo (its standby''s, for standbys); only changed options are altered. options: PL/Proxy settings (defaults connection_lifetime 1800, disable_binary 1; NULL keeps the server''s own). Writes only servers it generated for this cluster, or servers the caller owns. Returns the server name.';

CREATE FUNCTION @extschema@.read_cluster(cluster text) RETURNS text
    AS 'MODULE_PATHNAME', 'shardroute_read_cluster' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.read_cluster(text) IS
'For CLUSTER shardroute.read_cluster(''commcarehq''): <cluster>_standby when shardroute.read_from_standbys is on and every shard''s standby is eligible, else <cluster>.';

CREATE FUNCTION @extschema@.replication_caught_up(standby text) RETURNS bool
    AS 'MODULE_PATHNAME', 'shardroute_replication_caught_up' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.replication_caught_up(text) IS
'True when the standby streams from this server and has replayed everything this server has flushed: check it before promoting.';

CREATE FUNCTION @extschema@.move_node(name text, host text, port int DEFAULT NULL, dbname text DEFAULT NULL)
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
COMMENT ON FUNCTION @extschema@.move_node(text, text, int, text) IS
'The configuration half of moving a shard database to a new host: updates the node (clearing its plproxy_host) and re-syncs every PL/Proxy server (primary and standby clusters) that uses it, in one transaction.';

REVOKE EXECUTE ON FUNCTION @extschema@.plproxy_sync(text, text, bool, jsonb),
                           @extschema@.move_node(text, text, int, text) FROM PUBLIC;

-- After the operator promoted a standby's server (pg_promote()): its entry
-- becomes a primary node, renamed to new_name when given. It no longer
-- replays its old primary's writes, so it leaves the READ lists it was in
-- (a NOTICE names them). The rest of an online move or split (assign_shards
-- or move_node, plproxy_sync) goes in the same transaction.
CREATE FUNCTION @extschema@.promote_standby(standby text, new_name text DEFAULT NULL) RETURNS void
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
REVOKE EXECUTE ON FUNCTION @extschema@.promote_standby(text, text) FROM PUBLIC;

------------------------------------------------------------------------------
-- Sharded tables and the rows on the partition databases. Queries run from
-- the proxy through the cluster's PL/Proxy server (plproxy_sync) and the
-- caller's user mapping for it; the partition databases need shardroute
-- installed (for the hash).
------------------------------------------------------------------------------

CREATE TABLE @extschema@.sharded_table (
    cluster text NOT NULL REFERENCES @extschema@.shard_cluster (name) ON UPDATE CASCADE ON DELETE CASCADE,
    table_name text NOT NULL CHECK (table_name <> ''),
    key_column text NOT NULL CHECK (key_column <> ''),
    PRIMARY KEY (cluster, table_name)
);
COMMENT ON TABLE @extschema@.sharded_table IS
'The tables partitioned by a cluster''s shard hash, named as they are in the partition databases, with the column the hash is taken of.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.sharded_table', '');
REVOKE ALL ON @extschema@.sharded_table FROM PUBLIC;
GRANT SELECT ON @extschema@.sharded_table TO PUBLIC;

CREATE FUNCTION @extschema@.add_sharded_table(cluster text, table_name text, key_column text) RETURNS void
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
COMMENT ON FUNCTION @extschema@.add_sharded_table(text, text, text) IS
'Registers a table of the partition databases partitioned by the cluster''s shard hash of key_column (a text or uuid column, hashed as lookups hash it). Used by shard_distribution, misplaced_rows and delete_misplaced_rows.';

CREATE FUNCTION @extschema@.drop_sharded_table(cluster text, table_name text) RETURNS void
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

CREATE FUNCTION @extschema@._partition_counts(cluster text, table_name text, key_column text)
RETURNS TABLE (node text, shard text, rows text)
    AS 'MODULE_PATHNAME', 'shardroute_partition_counts' LANGUAGE C VOLATILE STRICT;
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

-- (plpgsql cannot name an input and an output column alike, as the API does)
CREATE FUNCTION @extschema@._shard_distribution(cluster text, only_table text)
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

CREATE FUNCTION @extschema@.shard_distribution(cluster text, table_name text DEFAULT NULL)
RETURNS TABLE (node text, table_name text, shard int, rows int8)
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT * FROM shardroute._shard_distribution($1, $2)
$$;
COMMENT ON FUNCTION @extschema@.shard_distribution(text, text) IS
'Rows per node, sharded table and shard, counted exactly (count(*) on every partition database, through the cluster''s PL/Proxy server and your user mapping, as PL/Proxy connects). Rows whose key is NULL belong to no shard and are not counted.';

CREATE FUNCTION @extschema@.misplaced_rows(cluster text)
RETURNS TABLE (node text, table_name text, shard int, rows int8)
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT d.node, d.table_name, d.shard, d.rows FROM shardroute.shard_distribution(misplaced_rows.cluster) d
     WHERE shardroute.node_for_shard(misplaced_rows.cluster, d.shard) IS DISTINCT FROM d.node
     ORDER BY 1, 2, 3
$$;
COMMENT ON FUNCTION @extschema@.misplaced_rows(text) IS
'Rows a node holds for shards it does not own (left by a move or a split), per node, sharded table and shard.';

CREATE PROCEDURE @extschema@.delete_misplaced_rows(cluster text, batch_size int DEFAULT 10000)
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

REVOKE EXECUTE ON FUNCTION @extschema@.add_sharded_table(text, text, text), @extschema@.drop_sharded_table(text, text),
    @extschema@._partition_counts(text, text, text), @extschema@._partition_delete(text, text, text, text, int4[], int4, int8, int8),
    @extschema@._shard_distribution(text, text), @extschema@.shard_distribution(text, text),
    @extschema@.misplaced_rows(text) FROM PUBLIC;
REVOKE EXECUTE ON PROCEDURE @extschema@.delete_misplaced_rows(text, int) FROM PUBLIC;

-- Replication state is what pg_stat_replication shows only to pg_read_all_stats.
REVOKE EXECUTE ON FUNCTION @extschema@.standby_status(), @extschema@.replication_caught_up(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.standby_status(), @extschema@.replication_caught_up(text) TO pg_read_all_stats;

------------------------------------------------------------------------------
-- Citus: node registration from the catalog, drift, distributed-table checks.
------------------------------------------------------------------------------

CREATE FUNCTION @extschema@._citus_plan() RETURNS TABLE (node text, kind text, host text, port text)
    AS 'MODULE_PATHNAME', 'shardroute_citus_plan' LANGUAGE C STABLE;
CREATE FUNCTION @extschema@._citus_check(facts jsonb) RETURNS TABLE (problem text, detail text, hint text)
    AS 'MODULE_PATHNAME', 'shardroute_citus_check' LANGUAGE C STABLE STRICT;

-- Whether a type has a default hash operator class: what create_distributed_table
-- asks of the distribution column.
CREATE FUNCTION @extschema@._citus_hashable(type regtype) RETURNS bool
    AS 'MODULE_PATHNAME', 'shardroute_citus_hashable' LANGUAGE C STABLE STRICT;

-- A table as the Citus checks need it: columns, the distribution column's type
-- (hashable, and which types inside it are not), constraints and unique
-- indexes, triggers, partitioning, its foreign keys (with the Citus kind,
-- distribution column, type and shard count of the referenced table), foreign
-- keys pointing at it (with the kind of the referencing table and what else it
-- references), and, with Citus installed, active workers, coordinator,
-- replication factor, shard count and citus.enable_unsafe_triggers.
-- Citus kinds: h hash-distributed, n reference, c Citus local table, s single-shard.
CREATE FUNCTION @extschema@._citus_table_facts(tbl regclass, distribution_column name, reference bool) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    citus bool := EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus');
    workers int := 0;
    coordinator bool := false;
    factor int := 1;
    shard_count int := 0;
    unsafe_triggers bool := false;
    kinds jsonb := '{}';
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'table must not be NULL' USING ERRCODE = 'null_value_not_allowed',
            HINT = 'Pass the table to check, e.g. citus_check_table(''app_model''::regclass).';
    END IF;
    IF citus THEN
        EXECUTE 'SELECT count(*)::int FROM pg_dist_node WHERE isactive AND noderole = ''primary'' AND groupid <> 0'
            INTO workers;
        EXECUTE 'SELECT EXISTS (SELECT 1 FROM pg_dist_node WHERE groupid = 0 AND noderole = ''primary'')'
            INTO coordinator;
        factor := current_setting('citus.shard_replication_factor')::int;
        shard_count := current_setting('citus.shard_count')::int;
        unsafe_triggers := current_setting('citus.enable_unsafe_triggers')::bool;
        EXECUTE $q$SELECT coalesce(jsonb_object_agg(p.logicalrelid::oid::text, jsonb_build_object(
                       'kind', CASE WHEN p.partmethod <> 'n' THEN p.partmethod::text WHEN p.repmodel = 't' THEN 'n'
                                    WHEN p.colocationid = 0 THEN 'c' ELSE 's' END,
                       'col', a.attname, 'type', a.atttypid::regtype::text,
                       'collation', a.attcollation::regcollation::text,
                       'shards', (SELECT count(*) FROM pg_dist_shard s WHERE s.logicalrelid = p.logicalrelid))), '{}')
                   FROM pg_dist_partition p
                   LEFT JOIN pg_attribute a ON p.partmethod = 'h' AND a.attrelid = p.logicalrelid
                        AND a.attname = column_to_column_name(p.logicalrelid, p.partkey)$q$ INTO kinds;
    END IF;
    RETURN jsonb_build_object(
        'table', tbl::text, 'reference', reference, 'distribution_column', distribution_column,
        'citus_installed', citus, 'active_workers', workers, 'coordinator_in_metadata', coordinator,
        'replication_factor', factor, 'shard_count', shard_count, 'unsafe_triggers', unsafe_triggers,
        'kind', coalesce(kinds -> tbl::oid::text ->> 'kind', 'local'),
        'relkind', (SELECT relkind::text FROM pg_class WHERE oid = tbl),
        'partition_of', (SELECT i.inhparent::regclass::text FROM pg_inherits i JOIN pg_class r ON r.oid = i.inhrelid
                         WHERE i.inhrelid = tbl AND r.relispartition),
        'triggers', coalesce((SELECT jsonb_agg(t.tgname ORDER BY t.tgname) FROM pg_trigger t
                              WHERE t.tgrelid = tbl AND NOT t.tgisinternal
                                AND t.tgfoid::regproc::text NOT LIKE '%citus_truncate_trigger'), '[]'),
        'columns', (SELECT jsonb_agg(attname ORDER BY attnum) FROM pg_attribute
                    WHERE attrelid = tbl AND attnum > 0 AND NOT attisdropped),
        -- hashable: a default hash operator class; unhashable_parts: types inside it
        -- (array elements, composite fields, range subtypes, domain bases) without one
        'distribution_type', (SELECT jsonb_build_object(
            'type', a.atttypid::regtype::text, 'collation', a.attcollation::regcollation::text,
            'hashable', @extschema@._citus_hashable(a.atttypid),
            'unhashable_parts', (WITH RECURSIVE part(t, depth) AS (
                    SELECT a.atttypid, 0
                    UNION
                    SELECT x.t, part.depth + 1 FROM part, LATERAL (
                        SELECT ty.typbasetype FROM pg_type ty WHERE ty.oid = part.t AND ty.typtype = 'd'
                        UNION ALL
                        SELECT ty.typelem FROM pg_type ty WHERE ty.oid = part.t AND ty.typcategory = 'A' AND ty.typelem <> 0
                        UNION ALL
                        SELECT r.rngsubtype FROM pg_range r WHERE r.rngtypid = part.t
                        UNION ALL
                        SELECT fa.atttypid FROM pg_type ty JOIN pg_attribute fa ON fa.attrelid = ty.typrelid
                         WHERE ty.oid = part.t AND ty.typtype = 'c' AND fa.attnum > 0 AND NOT fa.attisdropped) x(t)
                    WHERE part.depth < 8)
                SELECT coalesce(jsonb_agg(DISTINCT part.t::regtype::text), '[]') FROM part
                 WHERE part.depth > 0 AND NOT @extschema@._citus_hashable(part.t)))
            FROM pg_attribute a
            WHERE a.attrelid = tbl AND a.attname = distribution_column AND a.attnum > 0 AND NOT a.attisdropped),
        'constraints', coalesce((SELECT jsonb_agg(jsonb_build_object(
            'type', c.contype, 'name', c.conname,
            'columns', (SELECT jsonb_agg(a.attname ORDER BY k.ord) FROM unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
                        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum),
            -- a primary key's or unique constraint's index columns, INCLUDE columns too
            'index_columns', CASE WHEN c.contype IN ('p', 'u') THEN
                (SELECT jsonb_agg(a.attname ORDER BY k.ord) FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum WHERE i.indexrelid = c.conindid) END,
            -- an exclusion constraint's elements: column (NULL for an expression), equality operator or not
            'elements', CASE WHEN c.contype = 'x' THEN
                (SELECT jsonb_agg(jsonb_build_object('column', a.attname, 'equality', EXISTS (
                            SELECT 1 FROM pg_amop o JOIN pg_am m ON m.oid = o.amopmethod WHERE o.amopopr = k.op
                               AND ((m.amname = 'btree' AND o.amopstrategy = 3) OR (m.amname = 'hash' AND o.amopstrategy = 1))))
                        ORDER BY k.ord)
                   FROM unnest(c.conkey, c.conexclop) WITH ORDINALITY k(attnum, op, ord)
                   LEFT JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum) END,
            'ref_table', CASE WHEN c.contype = 'f' THEN c.confrelid::regclass::text END,
            'ref_columns', (SELECT jsonb_agg(a.attname ORDER BY k.ord) FROM unnest(c.confkey) WITH ORDINALITY k(attnum, ord)
                            JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum),
            'self', c.contype = 'f' AND c.confrelid = c.conrelid,
            'ref_kind', coalesce(kinds -> c.confrelid::oid::text ->> 'kind', 'local'),
            'ref_distribution_column', kinds -> c.confrelid::oid::text ->> 'col',
            'ref_distribution_type', kinds -> c.confrelid::oid::text ->> 'type',
            'ref_collation', kinds -> c.confrelid::oid::text ->> 'collation',
            'ref_shards', (kinds -> c.confrelid::oid::text ->> 'shards')::int,
            'on_delete', c.confdeltype::text, 'on_update', c.confupdtype::text) ORDER BY c.conname)
            FROM pg_constraint c WHERE c.conrelid = tbl AND c.contype IN ('p', 'u', 'x', 'f')), '[]'),
        -- unique indexes that are not constraints (CREATE UNIQUE INDEX, Django's UniqueConstraint with
        -- condition= or expressions): their plain columns, INCLUDE columns too
        'unique_indexes', coalesce((SELECT jsonb_agg(jsonb_build_object(
            'name', i.indexrelid::regclass::text,
            'columns', coalesce((SELECT jsonb_agg(a.attname ORDER BY k.ord)
                                   FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                                   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum), '[]'),
            'expressions', i.indexprs IS NOT NULL, 'partial', i.indpred IS NOT NULL) ORDER BY i.indexrelid::regclass::text)
            FROM pg_index i WHERE i.indrelid = tbl AND i.indisunique
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conrelid = tbl AND c.conindid = i.indexrelid)), '[]'),
        'incoming', coalesce((SELECT jsonb_agg(jsonb_build_object(
            'table', c.conrelid::regclass::text, 'name', c.conname,
            'columns', (SELECT jsonb_agg(a.attname ORDER BY k.ord) FROM unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
                        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum),
            'kind', coalesce(kinds -> c.conrelid::oid::text ->> 'kind', 'local'),
            'on_delete', c.confdeltype::text, 'on_update', c.confupdtype::text,
            -- what else the referencing table references: any table, distributed tables, local tables
            'refs_other', coalesce((SELECT jsonb_agg(DISTINCT o.confrelid::regclass::text) FROM pg_constraint o
                                    WHERE o.conrelid = c.conrelid AND o.contype = 'f' AND o.confrelid <> tbl
                                      AND o.confrelid <> o.conrelid), '[]'),
            'refs_distributed', coalesce((SELECT jsonb_agg(DISTINCT o.confrelid::regclass::text) FROM pg_constraint o
                                          WHERE o.conrelid = c.conrelid AND o.contype = 'f' AND o.confrelid <> tbl
                                            AND kinds -> o.confrelid::oid::text ->> 'kind' IN ('h', 's', 'a', 'r')), '[]'),
            'refs_local', coalesce((SELECT jsonb_agg(DISTINCT o.confrelid::regclass::text) FROM pg_constraint o
                                    WHERE o.conrelid = c.conrelid AND o.contype = 'f' AND o.confrelid <> tbl
                                      AND o.confrelid <> o.conrelid AND NOT kinds ? o.confrelid::oid::text), '[]'),
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

CREATE FUNCTION @extschema@.citus_check_table(tbl regclass, distribution_column name DEFAULT NULL,
                                              reference bool DEFAULT false)
RETURNS TABLE (problem text, detail text, hint text)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT * FROM shardroute._citus_check(shardroute._citus_table_facts(tbl, distribution_column, coalesce(reference, false)))
$$;
COMMENT ON FUNCTION @extschema@.citus_check_table(regclass, name, bool) IS
'What create_distributed_table(tbl, distribution_column) or create_reference_table(tbl) (reference => true) would refuse, and what Citus accepts but fails later, all at once, with hints in Django terms. A row whose problem starts with "warning: " does not block the call: its detail names the operation that fails afterwards (a Model.save(), a DELETE, truncate_local_data_after_distributing_table, a later create_distributed_table or create_reference_table, an INSERT). Every other row is a blocking problem: the call fails. Structural checks (constraints, indexes, triggers, foreign keys) work without Citus; worker counts, co-location and the Citus kind of other tables come from Citus metadata when it is installed.';

CREATE FUNCTION @extschema@.citus_register(dry_run bool DEFAULT false)
RETURNS TABLE (node text, action text, command text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s record;
    citus bool := EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus');
    present bool;
    held int8;
    shipped int8;
    added text[] := '{}';
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
        -- citus_add_node is idempotent, and it is Citus that says when this is not the coordinator
        IF (NOT present OR s.kind = 'worker') AND NOT dry_run THEN
            EXECUTE command;
        END IF;
        IF NOT present AND s.kind = 'worker' THEN
            added := added || (s.host || ':' || s.port);
        END IF;
        RETURN NEXT;
    END LOOP;
    -- the workers' copy of the topology (see citus_topology)
    node := 'citus_topology';
    command := 'SELECT create_reference_table(''shardroute.citus_topology'')';
    present := false;
    IF citus THEN
        EXECUTE $q$SELECT EXISTS (SELECT 1 FROM pg_dist_partition
                                   WHERE logicalrelid = 'shardroute.citus_topology'::regclass)$q$ INTO present;
    END IF;
    action := CASE WHEN present THEN 'present' WHEN dry_run THEN 'would create reference table'
                   ELSE 'reference table created' END;
    IF NOT present AND NOT dry_run THEN
        -- its statement trigger invalidates each worker's lookup caches: Citus
        -- creates it on every placement when unsafe triggers are allowed
        PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);
        EXECUTE command;
    END IF;
    RETURN NEXT;
    -- an active worker without a placement (one that was disabled, then activated)
    -- gets one; Citus copies placements only to nodes it knows in committed metadata
    IF citus AND NOT dry_run THEN
        FOR s IN EXECUTE $q$
            SELECT w.nodeid, w.nodename, w.nodeport, sh.shardid, c.nodeid AS source
              FROM pg_dist_node w, pg_dist_shard sh, pg_dist_node c
             WHERE sh.logicalrelid = 'shardroute.citus_topology'::regclass AND c.groupid = 0
               AND w.isactive AND w.noderole = 'primary' AND w.groupid <> 0
               AND NOT EXISTS (SELECT 1 FROM pg_dist_placement p WHERE p.shardid = sh.shardid AND p.groupid = w.groupid)
             ORDER BY w.nodename, w.nodeport $q$ LOOP
            node := coalesce((SELECT p.node FROM shardroute._citus_plan() p
                               WHERE p.host = s.nodename AND p.port::int = s.nodeport), s.nodename || ':' || s.nodeport);
            command := format('SELECT citus_copy_shard_placement(%s, %s, %s, %L)', s.shardid, s.source, s.nodeid,
                              'block_writes');
            IF s.nodename || ':' || s.nodeport = ANY (added) THEN
                action := 'no topology copy yet: run citus_register() again';
            ELSE
                PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);
                EXECUTE command;
                action := 'topology copy placed';
            END IF;
            RETURN NEXT;
        END LOOP;
    END IF;
    node := 'citus_topology';
    command := 'SELECT shardroute._citus_ship(shardroute._catalog_snapshot())';
    IF dry_run THEN
        action := 'would ship the topology to the workers';
    ELSE
        held := (SELECT max(t.version) FROM shardroute.citus_topology t);
        -- rewritten everywhere when a worker's copy differs (restored from an old backup, edited)
        shipped := shardroute._citus_ship(shardroute._catalog_snapshot(),
                                          force => EXISTS (SELECT 1 FROM shardroute._citus_stale_workers()));
        action := format(CASE WHEN shipped IS NOT DISTINCT FROM held THEN 'topology present on the workers (version %s)'
                              ELSE 'topology shipped to the workers (version %s)' END, shipped);
    END IF;
    RETURN NEXT;
END $$;
COMMENT ON FUNCTION @extschema@.citus_register(bool) IS
'On the Citus coordinator: sets the coordinator host (citus_role coordinator) when not set yet, adds every worker (citus_node_name host:port when given, else host and port) not yet in pg_dist_node, makes shardroute.citus_topology a reference table and ships the topology to the workers (lookups in distributed queries run there). One row per step: action (added, present, coordinator set, ...; would ... with dry_run) and the exact command. dry_run works without Citus.';

CREATE FUNCTION @extschema@.citus_drift()
RETURNS TABLE (node text, in_catalog bool, in_citus bool, detail text)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
        RAISE EXCEPTION 'Citus is not installed in this database' USING ERRCODE = 'undefined_object',
            HINT = 'CREATE EXTENSION citus; on the coordinator.';
    END IF;
    RETURN QUERY EXECUTE $q$
        WITH cat AS (SELECT p.node, p.kind, p.host, p.port::int AS port FROM shardroute._citus_plan() p),
             dist AS (SELECT nodename, nodeport, isactive, groupid FROM pg_dist_node WHERE noderole = 'primary'),
             missing AS (SELECT c.* FROM cat c
                          WHERE NOT EXISTS (SELECT 1 FROM dist d WHERE d.nodename = c.host AND d.nodeport = c.port)),
             unknown AS (SELECT d.* FROM dist d
                          WHERE NOT EXISTS (SELECT 1 FROM cat c WHERE c.host = d.nodename AND c.port = d.nodeport))
        SELECT m.node, true, false,
               CASE WHEN EXISTS (SELECT 1 FROM unknown u WHERE u.nodename = m.host)
                    THEN format('different port: catalog %s, Citus %s', m.port,
                                (SELECT string_agg(u.nodeport::text, ', ' ORDER BY u.nodeport)
                                   FROM unknown u WHERE u.nodename = m.host))
                    ELSE 'missing in Citus' END
          FROM missing m
        UNION ALL
        SELECT c.node, true, true, 'inactive in Citus'
          FROM cat c JOIN dist d ON d.nodename = c.host AND d.nodeport = c.port WHERE NOT d.isactive
        UNION ALL
        SELECT u.nodename || ':' || u.nodeport, false, true, 'unknown to the catalog'
          FROM unknown u WHERE NOT EXISTS (SELECT 1 FROM missing m WHERE m.host = u.nodename)
        UNION ALL
        SELECT coalesce((SELECT c.node FROM cat c WHERE c.host = w.nodename AND c.port = w.nodeport),
                        w.nodename || ':' || w.nodeport),
               EXISTS (SELECT 1 FROM cat c WHERE c.host = w.nodename AND c.port = w.nodeport), true,
               CASE WHEN NOT w.success THEN 'topology copy unknown: ' || w.result
                    WHEN w.result = 'none' THEN 'no copy of the topology'
                    ELSE format('topology copy differs: version %s, coordinator %s',
                                split_part(w.result, ':', 1), coalesce(split_part(w.expected, ':', 1), 'none')) END
          FROM shardroute._citus_stale_workers() w
        ORDER BY 1 $q$;
END $$;
COMMENT ON FUNCTION @extschema@.citus_drift() IS
'Catalog vs pg_dist_node, one row per node that differs: missing in Citus, unknown to the catalog, different port, inactive; and every active worker whose copy of the topology (shardroute.citus_topology) differs from the coordinator''s, is missing or cannot be read.';

REVOKE EXECUTE ON FUNCTION @extschema@.citus_register(bool), @extschema@._citus_plan() FROM PUBLIC;

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
