-- shardroute 1.1 -> 1.2: Citus for real. test/t/010_upgrade.pl checks that the
-- result equals a fresh install of 1.2, member by member, from 1.0 and from 1.1.
\echo Use "ALTER EXTENSION shardroute UPDATE TO '1.2'" to load this file. \quit

-- Citus table checks agree with Citus 13.2: unique indexes, exclusion operators, triggers,
-- partitions, hashability of the distribution column, co-location, Citus local tables, and
-- warnings for what Citus accepts but fails later.

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
CREATE OR REPLACE FUNCTION @extschema@._citus_table_facts(tbl regclass, distribution_column name, reference bool) RETURNS jsonb
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

CREATE OR REPLACE FUNCTION @extschema@.citus_check_table(tbl regclass, distribution_column name DEFAULT NULL,
                                              reference bool DEFAULT false)
RETURNS TABLE (problem text, detail text, hint text)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT * FROM shardroute._citus_check(shardroute._citus_table_facts(tbl, distribution_column, coalesce(reference, false)))
$$;
COMMENT ON FUNCTION @extschema@.citus_check_table(regclass, name, bool) IS
'What create_distributed_table(tbl, distribution_column) or create_reference_table(tbl) (reference => true) would refuse, and what Citus accepts but fails later, all at once, with hints in Django terms. A row whose problem starts with "warning: " does not block the call: its detail names the operation that fails afterwards (a Model.save(), a DELETE, truncate_local_data_after_distributing_table, a later create_distributed_table or create_reference_table, an INSERT). Every other row is a blocking problem: the call fails. Structural checks (constraints, indexes, triggers, foreign keys) work without Citus; worker counts, co-location and the Citus kind of other tables come from Citus metadata when it is installed.';
