-- PL/Proxy smoke test: a function with RUN ON shardroute.hash_string(key,
-- 'siphash24') on a real plproxy cluster of 4 partition databases lands on the
-- partition hash & 3 names.
CREATE EXTENSION plproxy;
SET client_min_messages = warning;
DROP DATABASE IF EXISTS shardroute_smoke_p0;
DROP DATABASE IF EXISTS shardroute_smoke_p1;
DROP DATABASE IF EXISTS shardroute_smoke_p2;
DROP DATABASE IF EXISTS shardroute_smoke_p3;
RESET client_min_messages;
CREATE DATABASE shardroute_smoke_p0;
CREATE DATABASE shardroute_smoke_p1;
CREATE DATABASE shardroute_smoke_p2;
CREATE DATABASE shardroute_smoke_p3;

-- one partition per database, reached through this server's own socket and port
DO $$
DECLARE here text := format('host=%s port=%s', split_part(current_setting('unix_socket_directories'), ',', 1),
                            current_setting('port'));
BEGIN
    EXECUTE format('CREATE SERVER smoke FOREIGN DATA WRAPPER plproxy OPTIONS (connection_lifetime %L, %s)', '1800',
                   (SELECT string_agg(format('p%s %L', i, format('%s dbname=shardroute_smoke_p%s', here, i)), ', ' ORDER BY i)
                    FROM generate_series(0, 3) i));
END $$;
CREATE USER MAPPING FOR PUBLIC SERVER smoke;

-- the partition function: which database ran it
CREATE FUNCTION where_is(key text) RETURNS text
LANGUAGE plproxy AS $$
    CLUSTER 'smoke';
    RUN ON shardroute.hash_string(key, 'siphash24');
    SELECT current_database()::text;
$$;

-- 400 keys: every call lands on partition hash & 3
SELECT count(*) AS calls,
       count(*) FILTER (WHERE where_is(k) <> 'shardroute_smoke_p' || (shardroute.hash_string(k, 'siphash24') & 3)) AS misrouted,
       count(DISTINCT where_is(k)) AS partitions_used
FROM (SELECT md5(i::text)::uuid::text AS k FROM generate_series(1, 400) i) s;

-- a fixed key pins the expected partition: 'abc' hashes to 1198583518, & 3 = 2
SELECT shardroute.hash_string('abc', 'siphash24') & 3 AS partition, where_is('abc');

-- clean up what lives outside the test database
DROP FUNCTION where_is(text);
DROP USER MAPPING FOR PUBLIC SERVER smoke;
DROP SERVER smoke;
DROP DATABASE shardroute_smoke_p0 WITH (FORCE);
DROP DATABASE shardroute_smoke_p1 WITH (FORCE);
DROP DATABASE shardroute_smoke_p2 WITH (FORCE);
DROP DATABASE shardroute_smoke_p3 WITH (FORCE);
DROP EXTENSION plproxy;
