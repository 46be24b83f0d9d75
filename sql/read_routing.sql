-- Read routing on a server with no standby connected (TAP tests cover real
-- streaming standbys): errors, fallback to the WRITE node, standby_status.
\set SHOW_CONTEXT never
BEGIN;
SELECT shardroute.add_node('ucr', 'ucr0', 5432, 'commcarehq_ucr');
SELECT shardroute.add_standby('ucr_standby1', 'ucr', 'ucr1', 5432, 'commcarehq_ucr');
SELECT shardroute.add_standby('ucr_standby2', 'ucr', 'ucr2', 5432, 'commcarehq_ucr', '30 seconds', 16777216, 'ucr2_app');
SELECT shardroute.create_read_group('ucr', 'ucr');
SELECT shardroute.set_read_weight('ucr', 'ucr', 1);
SELECT shardroute.set_read_weight('ucr', 'ucr_standby1', 2);
SELECT shardroute.set_read_weight('ucr', 'ucr_standby2', 2);
SELECT shardroute.create_read_group('standbys_only', 'ucr');
SELECT shardroute.set_read_weight('standbys_only', 'ucr_standby1', 1);
SELECT shardroute.create_read_group('no_members', 'ucr');
COMMIT;

-- no standby is connected: every standby is ineligible and says why
SELECT * FROM shardroute.standby_status() ORDER BY node;

-- 20,000 choices over a group whose only eligible member is the WRITE node
SELECT n AS chosen, count(*) FROM (SELECT shardroute.choose_read_node('ucr') AS n FROM generate_series(1, 20000)) s
GROUP BY n ORDER BY n;
-- no eligible member at all: the WRITE node
SELECT shardroute.choose_read_node('standbys_only') AS fallback,
       shardroute.choose_read_node('standbys_only', pg_current_wal_lsn()) AS fallback_read_your_writes;
-- a key's read node: its owner when no standby of it is eligible
BEGIN;
SELECT shardroute.create_cluster('reads', 2);
SELECT shardroute.assign_shards('reads', 'ucr', 0, 1);
COMMIT;
SELECT shardroute.read_node_for_key('reads', 'abc');

-- an empty READ list: the WRITE node, as CommCare does (no error)
SELECT shardroute.choose_read_node('no_members') AS empty_read_list,
       shardroute.choose_read_node('no_members', pg_current_wal_lsn()) AS empty_read_list_lsn;

-- errors
SELECT shardroute.choose_read_node('nope');
SELECT shardroute.read_node_for_key('nope', 'abc');

-- PL/Proxy is not installed in this database
SELECT shardroute.plproxy_sync('reads');
SELECT shardroute.plproxy_sync(NULL);

-- the result shape
SELECT pg_get_function_result('shardroute.standby_status()'::regprocedure);

-- replication state is for pg_read_all_stats, as pg_stat_replication's columns are
CREATE ROLE regress_reader;
SET ROLE regress_reader;
SELECT shardroute.choose_read_node('ucr') AS anyone_may_route;
SELECT count(*) FROM shardroute.standby_status();
SELECT shardroute.replication_caught_up('ucr_standby1');
RESET ROLE;
GRANT pg_read_all_stats TO regress_reader;
SET ROLE regress_reader;
SELECT count(*) AS standbys_seen FROM shardroute.standby_status();
SELECT shardroute.replication_caught_up('ucr_standby1') AS caught_up;
RESET ROLE;
DROP ROLE regress_reader;
