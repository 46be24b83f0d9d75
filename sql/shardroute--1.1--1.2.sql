-- shardroute 1.1 -> 1.2: Citus for real. test/t/010_upgrade.pl checks that the
-- result equals a fresh install of 1.2, member by member, from 1.0 and from 1.1.
\echo Use "ALTER EXTENSION shardroute UPDATE TO '1.2'" to load this file. \quit

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
-- the coordinator last committed it. TRUNCATE and INSERT rather than UPDATE:
-- TRUNCATE sends a relcache invalidation of each worker's placement, and that
-- is what makes the workers' lookup caches reload.
------------------------------------------------------------------------------

CREATE TABLE @extschema@.citus_topology (
    version int8 NOT NULL,
    snapshot jsonb NOT NULL,
    shipped_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE @extschema@.citus_topology IS
'On a Citus cluster: the coordinator''s catalog as the workers route with it (a reference table, rewritten by every committed topology change on the coordinator; version counts the changes). Empty without Citus.';
REVOKE ALL ON @extschema@.citus_topology FROM PUBLIC;
GRANT SELECT ON @extschema@.citus_topology TO PUBLIC;

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
CREATE OR REPLACE FUNCTION @extschema@._snapshot() RETURNS jsonb
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
        TRUNCATE shardroute.citus_topology;
        INSERT INTO shardroute.citus_topology (version, snapshot) VALUES (coalesce(held.version, 0) + 1, target);
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT;
        RAISE EXCEPTION 'cannot ship the shardroute topology to the Citus workers: %', message USING ERRCODE = state,
            DETAIL = 'On a Citus coordinator every topology change reaches each active worker in the same transaction, '
                     'so that lookups in distributed queries route as the coordinator does.',
            HINT = 'Bring the worker back, or take it out of the cluster (citus_disable_node, citus_remove_node).';
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

REVOKE EXECUTE ON FUNCTION @extschema@._citus_ship(jsonb, bool), @extschema@._refuse_on_citus_worker() FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.citus_register(dry_run bool DEFAULT false)
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
        shipped := shardroute._citus_ship(shardroute._catalog_snapshot());
        action := format(CASE WHEN shipped IS NOT DISTINCT FROM held THEN 'topology present on the workers (version %s)'
                              ELSE 'topology shipped to the workers (version %s)' END, shipped);
    END IF;
    RETURN NEXT;
END $$;
COMMENT ON FUNCTION @extschema@.citus_register(bool) IS
'On the Citus coordinator: sets the coordinator host (citus_role coordinator) when not set yet, adds every worker (citus_node_name host:port when given, else host and port) not yet in pg_dist_node, makes shardroute.citus_topology a reference table and ships the topology to the workers (lookups in distributed queries run there). One row per step: action (added, present, coordinator set, ...; would ... with dry_run) and the exact command. dry_run works without Citus.';

CREATE OR REPLACE FUNCTION @extschema@.citus_drift()
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
                    ELSE format('topology copy behind: version %s, coordinator %s', w.result, v.version) END
          FROM (SELECT max(t.version) AS version FROM shardroute.citus_topology t
                 WHERE EXISTS (SELECT 1 FROM pg_dist_partition
                                WHERE logicalrelid = 'shardroute.citus_topology'::regclass)) v,
               run_command_on_workers('SELECT coalesce(version::text, ''none'') FROM shardroute._citus_copy()') w
         WHERE NOT w.success OR w.result IS DISTINCT FROM v.version::text
        ORDER BY 1 $q$;
END $$;
COMMENT ON FUNCTION @extschema@.citus_drift() IS
'Catalog vs pg_dist_node, one row per node that differs: missing in Citus, unknown to the catalog, different port, inactive; and every active worker whose copy of the topology (shardroute.citus_topology) is behind the coordinator''s or cannot be read.';
