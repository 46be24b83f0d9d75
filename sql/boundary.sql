-- The C++/PostgreSQL boundary: an error thrown in C++ comes out as an ordinary
-- ERROR carrying its SQLSTATE, detail and hint, and the session keeps working.
CREATE FUNCTION pg_temp.show_error(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; msg text; det text; hnt text;
BEGIN
    EXECUTE query;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
    RETURN format('%s | %s | %s | %s', st, msg, det, hnt);
END $$;

SELECT pg_temp.show_error($$SELECT shardroute.hash_string('abc', 'crc32')$$);
SELECT pg_temp.show_error($$SELECT shardroute.hash64_string('abc'::bytea, 'nope', 1)$$);
SELECT pg_temp.show_error($$SELECT shardroute.hash_uuid(gen_random_uuid(), 'x')$$);
SELECT pg_temp.show_error($$SELECT shardroute.hash64_string('abc', 'hashtext', 0, 1)$$);

-- Django keeps PORT as a string; the import reads it with PostgreSQL's int4
-- input rules in C++ (no callback): the same SQLSTATEs and wording, after the
-- setting to fix.
SELECT pg_temp.show_error($$SELECT * FROM shardroute.import_django_settings('{"DATABASES": {"x": {"HOST": "h", "PORT": "54o2"}}}')$$);
SELECT pg_temp.show_error($$SELECT * FROM shardroute.import_django_settings('{"DATABASES": {"x": {"HOST": "h", "PORT": "99999999999"}}}')$$);
SELECT count(*) AS nothing_written FROM shardroute.node;

-- The other direction: an ereport inside PostgreSQL code that C++ calls (the
-- SPI query reading the catalog, as a role that may not read it) comes back
-- out with its own SQLSTATE and message, as often as it happens.
BEGIN;
CREATE ROLE regress_boundary_reader;
REVOKE SELECT ON shardroute.node FROM PUBLIC;
SET LOCAL ROLE regress_boundary_reader;
SELECT pg_temp.show_error($$SELECT shardroute.export_django_settings()$$);
SELECT count(*) AS pg_errors_caught
FROM generate_series(1, 200) i
WHERE pg_temp.show_error($$SELECT shardroute.export_django_settings()$$) LIKE '42501 |%';
ROLLBACK;

-- caught inside a subtransaction: the transaction goes on
BEGIN;
SELECT pg_temp.show_error($$SELECT shardroute.hash_string('abc', 'crc32')$$);
SELECT shardroute.hash_string('abc', 'siphash24') AS after_error_in_transaction;
COMMIT;

-- many errors in a row leave no state behind (no leaked exception, no lost memory context)
SELECT count(*) AS errors_caught
FROM generate_series(1, 1000) i
WHERE pg_temp.show_error(format($$SELECT shardroute.hash_string('abc', 'bad%s')$$, i)) LIKE '22023 |%';

-- an uncaught error aborts only the statement
SELECT shardroute.hash_string('abc', 'crc32');
SELECT shardroute.hash_string('abc', 'siphash24') AS session_still_works;
