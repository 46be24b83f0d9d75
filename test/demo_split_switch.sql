-- after the copy was promoted: the catalog switch, in one transaction
BEGIN;
SELECT shardroute.promote_standby('p1_copy', 'p1b');
SELECT shardroute.assign_shards('commcarehq', 'p1b', 103, 204);
SELECT shardroute.plproxy_sync('commcarehq');
SELECT shardroute.unfence_shards('commcarehq', 103, 204);
COMMIT;
