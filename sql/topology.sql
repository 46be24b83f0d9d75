-- The topology catalog: every rule, each with the message a user sees.
\set SHOW_CONTEXT never

-- The seed's PLPROXY layout, built in one transaction: validated at COMMIT as a whole.
BEGIN;
SELECT shardroute.add_node('proxy', 'pg0', 5432, 'commcarehq_proxy');
SELECT shardroute.add_node('p1', 'pg1', 5432, 'commcarehq_p1', 'user=commcarehq sslmode=prefer');
SELECT shardroute.add_node('p2', 'pg2', 5432, 'commcarehq_p2');
SELECT shardroute.create_cluster('commcarehq', 1024, 'siphash24', 'proxy');
SELECT shardroute.assign_shards('commcarehq', 'p1', 0, 511);
SELECT shardroute.assign_shards('commcarehq', 'p2', 512, 1023);
COMMIT;
SELECT * FROM shardroute.shard_range ORDER BY first_shard;
SELECT count(*) AS problems FROM shardroute.check_topology();

-- assign_shards moves shards from their old node and keeps one range per node where it can
SELECT shardroute.assign_shards('commcarehq', 'p2', 500, 511);
SELECT * FROM shardroute.shard_range ORDER BY first_shard;
SELECT shardroute.assign_shards('commcarehq', 'p1', 500, 511);
SELECT * FROM shardroute.shard_range ORDER BY first_shard;

-- row rules: refused at once
SELECT shardroute.add_node('', 'h');
SELECT shardroute.add_node(repeat('x', 64), 'h');
SELECT shardroute.add_node(E'new\nline', 'h');
SELECT shardroute.add_node('x', '');
SELECT shardroute.add_node('x', 'h', 0);
SELECT shardroute.add_node('x', 'h', 70000);
SELECT shardroute.add_node('x', 'h', 5432, '');
SELECT shardroute.add_node('x', 'h', 5432, 'db', 'user=u password=secret');
SELECT shardroute.add_node('x', 'h', 5432, 'db', 'sslpassword=secret');
SELECT shardroute.add_node('x', 'h', 5432, 'db', 'host=elsewhere');
SELECT shardroute.add_node('x', 'h', 5432, 'db', 'colour=blue');
SELECT shardroute.add_node('x', 'h', 5432, 'db', 'user');
SELECT shardroute.add_node('x', 'h', 5432, 'db', $$user='unterminated$$);
SELECT shardroute.add_node('x', 'h', 5432, 'db', NULL, 'master');
SELECT shardroute.add_node('x', 'h', 5432, 'db', NULL, 'worker', 'w1:99999');
SELECT shardroute.add_node('p1', 'h');
SELECT shardroute.add_standby('s', 'p1', 'h', max_lag => '-1 second');
SELECT shardroute.add_standby('s', 'p1', 'h', max_lag_bytes => -5);
SELECT shardroute.add_standby('s', 's', 'h');
SELECT shardroute.create_cluster('c', 1000);
SELECT shardroute.create_cluster('c', 0);
SELECT shardroute.create_cluster('c', 1024, 'md5');
SELECT shardroute.create_cluster('commcarehq');
UPDATE shardroute.shard_cluster SET shard_count = 2048 WHERE name = 'commcarehq';
INSERT INTO shardroute.shard_range VALUES ('commcarehq', 'p1', 7, 3);
SELECT shardroute.assign_shards('commcarehq', 'p1', 1000, 1100);
SELECT shardroute.assign_shards('nope', 'p1', 0, 1);
-- a value that passes the row rules is accepted: quotes, spaces and backslashes in options
SELECT shardroute.add_node('odd', 'pg odd', 6432, $$it's "db"$$, $$application_name='it\'s a \\ test'$$);
SELECT shardroute.conninfo('odd');

-- cross-row rules: checked at COMMIT, every problem named
BEGIN;
DELETE FROM shardroute.shard_range WHERE node = 'p2';
COMMIT;
SELECT shardroute.create_cluster('c8', 8);
BEGIN;
INSERT INTO shardroute.shard_range VALUES ('c8', 'p1', 1, 7);
COMMIT;
BEGIN;
INSERT INTO shardroute.shard_range VALUES ('c8', 'p1', 0, 3), ('c8', 'p2', 2, 7);
COMMIT;
BEGIN;
INSERT INTO shardroute.shard_range VALUES ('c8', 'p1', 0, 9);
COMMIT;
SELECT shardroute.assign_shards('c8', 'nobody', 0, 7);
SELECT shardroute.add_standby('p1_standby', 'p1', 'pg1s');
SELECT shardroute.assign_shards('c8', 'p1_standby', 0, 7);
SELECT shardroute.add_standby('p1_standby2', 'p1_standby', 'pg1t');
SELECT shardroute.add_standby('orphan', 'ghost', 'h');
BEGIN;
INSERT INTO shardroute.node (name, host, primary_node, max_lag) VALUES ('loop_a', 'h', 'loop_b', '3 s'), ('loop_b', 'h', 'loop_a', '3 s');
COMMIT;
SELECT shardroute.create_cluster('c9', 8, 'siphash24', 'ghost');
SELECT shardroute.create_cluster('c9', 8, 'siphash24', 'p1_standby');
SELECT shardroute.create_cluster('c9', 8, 'siphash24', 'proxy', 'proxy');

-- read groups: a READ list may refer to one master only
SELECT shardroute.create_read_group('ucr', 'p1');
SELECT shardroute.set_read_weight('ucr', 'p1', 1), shardroute.set_read_weight('ucr', 'p1_standby', 2);
SELECT shardroute.set_read_weight('ucr', 'p2', 1);
SELECT shardroute.set_read_weight('ucr', 'p1', -1);
SELECT shardroute.set_read_weight('ucr', 'p1', 'NaN');
SELECT shardroute.set_read_weight('nope', 'p1', 1);
INSERT INTO shardroute.read_member VALUES ('ucr', 'p2', 'Infinity');
SELECT shardroute.create_read_group('ucr_standby_write', 'p1_standby');
SELECT shardroute.create_read_group('ucr', 'p1');
SELECT shardroute.set_read_weight('ucr', 'p1_standby', 0);
SELECT * FROM shardroute.read_member ORDER BY 1, 2;

-- check_topology() lists every problem at once, and SET CONSTRAINTS checks early
BEGIN;
DELETE FROM shardroute.shard_range WHERE node = 'p2';
INSERT INTO shardroute.read_member VALUES ('ucr', 'p2', 1);
UPDATE shardroute.node SET primary_node = 'nobody' WHERE name = 'p1_standby';
SELECT * FROM shardroute.check_topology() ORDER BY 1, 2;
SET CONSTRAINTS ALL IMMEDIATE;
ROLLBACK;

-- drop_node refuses while referenced; force removes references, and the result must still be valid
SELECT shardroute.drop_node('p1');
SELECT shardroute.drop_node('p2', force => true);
BEGIN;
SELECT shardroute.add_node('p3', 'pg3', 5432, 'commcarehq_p3');
SELECT shardroute.drop_node('p2', force => true);
SELECT shardroute.assign_shards('commcarehq', 'p3', 512, 1023);
COMMIT;
SELECT * FROM shardroute.shard_range ORDER BY first_shard;
SELECT shardroute.drop_node('nope');

-- alter_node: NULL keeps, '' clears
SELECT shardroute.alter_node('p3', port => 6432, options => 'user=app');
SELECT shardroute.conninfo('p3');
SELECT shardroute.alter_node('p3', options => '');
SELECT shardroute.conninfo('p3');
SELECT shardroute.alter_node('nope', port => 1);
SELECT shardroute.alter_node('p3', port => 0);

-- the rest of the API
SELECT shardroute.drop_cluster('c8');
SELECT shardroute.drop_cluster('c8');
SELECT shardroute.drop_read_group('ucr');
SELECT shardroute.drop_read_group('ucr');
SELECT count(*) AS problems FROM shardroute.check_topology();

-- every function is documented for \df+
SELECT count(*) AS undocumented FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'shardroute' AND p.proname NOT LIKE '\_%' AND obj_description(p.oid, 'pg_proc') IS NULL;
