# The catalog is dumped by pg_dump (pg_extension_config_dump) and restores in
# a new database, table by table, without tripping the commit-time validation:
# each table commits on its own, in name order, and every prefix is valid.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->start;

$node->safe_psql('postgres', q{
    CREATE EXTENSION shardroute;
    BEGIN;
    SELECT shardroute.add_node('proxy', 'pg0', 5432, 'commcarehq_proxy');
    SELECT shardroute.add_node('proxy_standby', 'pg0', 5432, 'commcarehq_proxy_standby');
    SELECT shardroute.add_node('p1', 'pg1', 5432, 'commcarehq_p1', 'user=commcarehq');
    SELECT shardroute.add_node('p2', 'pg2', 6432, 'commcarehq_p2');
    SELECT shardroute.add_standby('p1_standby', 'p1', 'pg1s', 5432, 'commcarehq_p1', '30 seconds', 1048576, 'p1s');
    SELECT shardroute.create_cluster('commcarehq', 1024, 'siphash24', 'proxy', 'proxy_standby');
    SELECT shardroute.assign_shards('commcarehq', 'p1', 0, 511);
    SELECT shardroute.assign_shards('commcarehq', 'p2', 512, 1023);
    SELECT shardroute.create_read_group('ucr', 'p1');
    SELECT shardroute.set_read_weight('ucr', 'p1', 1);
    SELECT shardroute.set_read_weight('ucr', 'p1_standby', 2);
    COMMIT;
});

my $catalog = q{SELECT shardroute._snapshot() - 'relids'};
my $before = $node->safe_psql('postgres', $catalog);
my $keys = q{SELECT string_agg(shardroute.node_for_key('commcarehq', i::text), ',' ORDER BY i) FROM generate_series(1, 50) i};
my $routes = $node->safe_psql('postgres', $keys);

my $dir = PostgreSQL::Test::Utils::tempdir;
my @conn = ('-h', $node->host, '-p', $node->port);

# custom format through pg_restore (each table in its own transaction)
$node->command_ok([ 'pg_dump', @conn, '-Fc', '-f', "$dir/db.dump", 'postgres' ], 'pg_dump -Fc');
$node->safe_psql('postgres', 'CREATE DATABASE restored_custom');
$node->command_ok([ 'pg_restore', @conn, '--exit-on-error', '-d', 'restored_custom', "$dir/db.dump" ],
    'pg_restore succeeds');
is($node->safe_psql('restored_custom', $catalog), $before, 'pg_restore: catalog identical');
is($node->safe_psql('restored_custom', $keys), $routes, 'pg_restore: routing identical');
is($node->safe_psql('restored_custom', 'SELECT count(*) FROM shardroute.check_topology()'), '0',
    'pg_restore: restored topology is valid');

# plain format through psql, statement by statement
$node->command_ok([ 'pg_dump', @conn, '-f', "$dir/db.sql", 'postgres' ], 'pg_dump plain');
$node->safe_psql('postgres', 'CREATE DATABASE restored_plain');
$node->command_ok([ 'psql', @conn, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', 'restored_plain', '-f', "$dir/db.sql" ],
    'psql restores the plain dump');
is($node->safe_psql('restored_plain', $catalog), $before, 'plain dump: catalog identical');
is($node->safe_psql('restored_plain', $keys), $routes, 'plain dump: routing identical');

done_testing();
