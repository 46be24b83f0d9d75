# shardroute on a hot standby: the extension and its catalog arrive through
# WAL; lookups and read choice work there and follow topology changes made on
# the primary, also inside an open transaction; every function that changes
# the topology fails with a clear read-only error.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('hs_primary');
$primary->init(allows_streaming => 1);
$primary->start;
$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('hs_standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;

# created after the standby exists: CREATE EXTENSION reaches it through WAL
$primary->safe_psql('postgres', q{
    CREATE EXTENSION shardroute;
    BEGIN;
    SELECT shardroute.add_node('p1', 'pg1'), shardroute.add_node('p2', 'pg2');
    SELECT shardroute.create_cluster('c', 16);
    SELECT shardroute.assign_shards('c', 'p1', 0, 15);
    SELECT shardroute.create_read_group('g', 'p1');
    SELECT shardroute.set_read_weight('g', 'p2', 1);
    COMMIT;
});
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));

is($standby->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'shardroute'}),
    $primary->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'shardroute'}),
    'the extension reached the standby');
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'it is a hot standby');

my $owners = q{SELECT string_agg(shardroute.node_for_key('c', i::text), ',' ORDER BY i) FROM generate_series(1, 100) i};
is($standby->safe_psql('postgres', $owners), $primary->safe_psql('postgres', $owners),
    'the standby routes 100 keys as the primary does');
is($standby->safe_psql('postgres', q{SELECT shardroute.choose_read_node('g')}), 'p2',
    'choose_read_node works on the standby');

# a session on the standby with an open transaction sees a change the primary commits
my $reader = $standby->background_psql('postgres');
$reader->query_safe('BEGIN');
is($reader->query_safe(q{SELECT shardroute.node_for_shard('c', 12)}), 'p1', 'before the change: p1');
$primary->safe_psql('postgres', q{SELECT shardroute.assign_shards('c', 'p2', 8, 15)});
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
is($reader->query_safe(q{SELECT shardroute.node_for_shard('c', 12)}), 'p2',
    'inside the open transaction, the next statement sees the replayed change');
is($reader->query_safe(q{SELECT shardroute.node_for_shard('c', 3)}), 'p1', 'the rest is unchanged');
$reader->query_safe('COMMIT');
$reader->quit;
is($standby->safe_psql('postgres', $owners), $primary->safe_psql('postgres', $owners),
    'after the change, the standby still routes as the primary does');

# every function that changes the topology refuses, with SQLSTATE 25006 and a hint
for my $call (
    q{SELECT shardroute.add_node('p3', 'pg3')},
    q{SELECT shardroute.add_standby('s3', 'p1', 'pg3')},
    q{SELECT shardroute.alter_node('p1', port => 6432)},
    q{SELECT shardroute.drop_node('p2', force => true)},
    q{SELECT shardroute.create_cluster('c2', 4)},
    q{SELECT shardroute.assign_shards('c', 'p1', 0, 15)},
    q{SELECT shardroute.drop_cluster('c')},
    q{SELECT shardroute.create_read_group('g2', 'p1')},
    q{SELECT shardroute.set_read_weight('g', 'p1', 1)},
    q{SELECT shardroute.drop_read_group('g')},
    q{SELECT * FROM shardroute.import_django_settings('{}')},
    q{SELECT shardroute.move_node('p1', 'pg9')})
{
    my ($ret, $out, $err) = $standby->psql('postgres', "\\set VERBOSITY verbose\n$call");
    like($err, qr/25006: .*read-only .*standby/, "refused on the standby: $call");
}
my ($ret, $out, $err) = $standby->psql('postgres', q{SELECT shardroute.add_node('p3', 'pg3')});
like($err, qr/HINT:  Change the topology on the primary/, 'the refusal says where to make the change');

$standby->stop;
$primary->stop;
done_testing();
