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

-- The other direction: an ereport inside PostgreSQL code that C++ calls comes
-- back out with its own SQLSTATE and message. Django keeps PORT as a string,
-- and PostgreSQL's int4 input function decides what is a number.
SELECT pg_temp.show_error($$SELECT * FROM shardroute.import_django_settings('{"DATABASES": {"x": {"HOST": "h", "PORT": "54o2"}}}')$$);
SELECT pg_temp.show_error($$SELECT * FROM shardroute.import_django_settings('{"DATABASES": {"x": {"HOST": "h", "PORT": "99999999999"}}}')$$);
SELECT count(*) AS nothing_written FROM shardroute.node;

-- caught inside a subtransaction: the transaction goes on
BEGIN;
SELECT pg_temp.show_error($$SELECT shardroute.hash_string('abc', 'crc32')$$);
SELECT shardroute.hash_string('abc', 'siphash24') AS after_error_in_transaction;
COMMIT;

-- many errors in a row leave no state behind (no leaked exception, no lost memory context)
SELECT count(*) AS errors_caught
FROM generate_series(1, 1000) i
WHERE pg_temp.show_error(format($$SELECT shardroute.hash_string('abc', 'bad%s')$$, i)) LIKE '22023 |%';
SELECT count(*) AS pg_errors_caught
FROM generate_series(1, 200) i
WHERE pg_temp.show_error(format($$SELECT * FROM shardroute.import_django_settings('{"DATABASES": {"x": {"HOST": "h", "PORT": "x%s"}}}')$$, i)) LIKE '22P02 |%';

-- an uncaught error aborts only the statement
SELECT shardroute.hash_string('abc', 'crc32');
SELECT shardroute.hash_string('abc', 'siphash24') AS session_still_works;
