-- shardroute 1.0: install script
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
