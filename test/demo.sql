\pset footer off
CREATE EXTENSION shardroute;

\echo
\echo '--- 1. The CommCare shard hash, byte-exact with pghashlib hash_string(id, ''siphash24'')'
\echo '    shard = hash & (1024 - 1); partitions p1 = shards [0,511], p2 = [512,1023]'
SELECT id AS document_id,
       shardroute.hash_string(id::text, 'siphash24') AS hash,
       shardroute.hash_string(id::text, 'siphash24') & 1023 AS shard,
       CASE WHEN shardroute.hash_string(id::text, 'siphash24') & 1023 <= 511 THEN 'p1' ELSE 'p2' END AS partition
FROM (VALUES ('403724ef-9fe1-41f2-9083-63918c62c2ff'::uuid), ('c0ffee00-1b2c-4d5e-8f90-0123456789ab'),
             ('8d3e2f1a-4b5c-4d6e-9f70-8192a3b4c5d6'), ('f47ac10b-58cc-4372-a567-0e02b2c3d479'),
             ('a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d'), ('6ba7b810-9dad-11d1-80b4-00c04fd430c8')) ids(id);
