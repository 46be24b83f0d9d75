-- pghashlib-compatible hashing: every known value pghashlib returns, so that a
-- change of one bit of the hash fails this test.
CREATE EXTENSION shardroute;

-- the CommCare shard hash: hash_string(id, 'siphash24')
SELECT shardroute.hash_string('', 'siphash24')      AS empty,
       shardroute.hash_string('abc', 'siphash24')   AS abc,
       shardroute.hash_string('hello', 'siphash24') AS hello;
SELECT shardroute.hash64_string('abc', 'siphash24') AS abc64;
-- pghashlib's seed: k0 = seed sign-extended, k1 = 0
SELECT shardroute.hash_string('abc', 'siphash24', 1)  AS seed_1,
       shardroute.hash_string('abc', 'siphash24', -1) AS seed_minus_1;
-- UUID ids are hashed as their 16 raw bytes
SELECT shardroute.hash_uuid('403724ef-9fe1-41f2-9083-63918c62c2ff') AS uuid_hash,
       shardroute.hash_uuid('403724ef-9fe1-41f2-9083-63918c62c2ff', 'siphash24') AS uuid_hash_explicit;

-- the SipHash-2-4 reference vector: key 00..0f, message 00..0e
SELECT shardroute.hash64_string('\x000102030405060708090a0b0c0d0e'::bytea, 'siphash24',
                                x'0706050403020100'::int8, x'0f0e0d0c0b0a0908'::int8)
       = x'a129ca6149be45e5'::int8 AS reference_vector;

-- text and bytea hash the same bytes; a uuid hashes as its binary form
SELECT count(*) FILTER (WHERE shardroute.hash_string(k, 'siphash24')
                              <> shardroute.hash_string(convert_to(k, 'UTF8'), 'siphash24')) AS text_vs_bytea,
       count(*) FILTER (WHERE shardroute.hash_uuid(u) <> shardroute.hash_string(uuid_send(u), 'siphash24')) AS uuid_vs_bytes,
       count(*) FILTER (WHERE shardroute.hash_string(k, 'siphash24')
                              <> (shardroute.hash64_string(k, 'siphash24') & x'ffffffff'::int8)::bit(32)::int4) AS low_32_bits,
       count(*) FILTER (WHERE shardroute.hash_string(k, 'siphash24', 7)
                              <> (shardroute.hash64_string(k, 'siphash24', 7) & x'ffffffff'::int8)::bit(32)::int4) AS seeded_low_32_bits
FROM (SELECT md5(i::text)::uuid AS u, md5(i::text) || repeat('é', i % 9) AS k FROM generate_series(1, 2000) i) s;

-- 'hashtext' is PostgreSQL's own hashtext (and its extended, seeded form)
SELECT count(*) FILTER (WHERE shardroute.hash_string(k, 'hashtext') <> hashtext(k)) AS vs_hashtext,
       count(*) FILTER (WHERE shardroute.hash64_string(k, 'hashtext', 42) <> hashtextextended(k, 42)) AS vs_extended,
       count(*) FILTER (WHERE shardroute.hash_string(k, 'hashtext', -5)
                              <> (hashtextextended(k, -5) & x'ffffffff'::int8)::bit(32)::int4) AS seeded_low_32_bits,
       count(*) FILTER (WHERE shardroute.hash_uuid(u, 'hashtext') <> uuid_hash(u)) AS vs_uuid_hash
FROM (SELECT md5(i::text)::uuid AS u, md5(i::text) AS k FROM generate_series(1, 2000) i) s;

-- the algorithm may differ from row to row
SELECT a, shardroute.hash_string('abc', a)
FROM (VALUES ('siphash24'), ('hashtext'), ('siphash24')) v(a);

-- STRICT: NULL in, NULL out
SELECT shardroute.hash_string(NULL::text, 'siphash24') IS NULL AS null_data,
       shardroute.hash_string('abc', NULL) IS NULL AS null_algorithm;

-- volatility and parallel safety, as RUN ON and parallel plans need
SELECT p.proname, p.provolatile, p.proisstrict, p.proparallel, count(*)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'shardroute' AND p.proname LIKE 'hash%'
GROUP BY 1, 2, 3, 4 ORDER BY 1;

-- large inputs: 256 MB hashed whole, text and bytea agree
SELECT shardroute.hash_string(big, 'siphash24') = shardroute.hash_string(convert_to(big, 'UTF8'), 'siphash24') AS large_input
FROM (SELECT repeat('0123456789abcdef', 16 * 1024 * 1024) AS big) s;

-- errors
SELECT shardroute.hash_string('abc', 'md5');
SELECT shardroute.hash_string('abc', 'SipHash24');
SELECT shardroute.hash64_string('abc', 'hashtext', 1, 2);
