# The lag monitor: a proxy instance (shardroute in shared_preload_libraries)
# samples standbys of two other primaries through libpq; routing reads the
# samples from shared memory. Also: a dead primary (its standby measures
# itself), a closed port, and a killed worker.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $interval_ms = 300;
my $proxy = PostgreSQL::Test::Cluster->new('proxy');
$proxy->init;
$proxy->append_conf('postgresql.conf',
    "shared_preload_libraries = 'shardroute'\nshardroute.lag_poll_interval = ${interval_ms}ms\n");
$proxy->start;
$proxy->safe_psql('postgres', 'CREATE EXTENSION shardroute');

my (%primary, %standby);
for my $p ('a', 'b') {
    my $pri = PostgreSQL::Test::Cluster->new("primary_$p");
    $pri->init(allows_streaming => 1);
    $pri->start;
    $pri->safe_psql('postgres', 'CREATE TABLE t (i int)');
    $pri->backup('base');
    my $sb = PostgreSQL::Test::Cluster->new("standby_$p");
    $sb->init_from_backup($pri, 'base', has_streaming => 1);
    $sb->append_conf('postgresql.conf', "primary_conninfo = '" . $pri->connstr . " application_name=${p}1'");
    $sb->start;
    ($primary{$p}, $standby{$p}) = ($pri, $sb);
}
my $closed = PostgreSQL::Test::Cluster::get_free_port(); # nothing listens there

my $host = $proxy->host;
$proxy->safe_psql('postgres', qq{
    BEGIN;
    SELECT shardroute.add_node('a', '$host', ${\ $primary{a}->port}, 'postgres');
    SELECT shardroute.add_standby('a1', 'a', '$host', ${\ $standby{a}->port}, 'postgres', max_lag => '1 second');
    SELECT shardroute.add_node('b', '$host', ${\ $primary{b}->port}, 'postgres');
    SELECT shardroute.add_standby('b1', 'b', '$host', ${\ $standby{b}->port}, 'postgres', max_lag => '1 second');
    SELECT shardroute.add_node('c', '127.0.0.1', $closed, 'postgres');
    SELECT shardroute.add_standby('c1', 'c', '127.0.0.1', $closed, 'postgres');
    SELECT shardroute.create_read_group('ga', 'a');
    SELECT shardroute.set_read_weight('ga', 'a1', 1);
    SELECT shardroute.create_read_group('gb', 'b');
    SELECT shardroute.set_read_weight('gb', 'b1', 1);
    COMMIT;
});

sub status {
    my ($node, $cols) = @_;
    return $proxy->safe_psql('postgres', "SELECT $cols FROM shardroute.standby_status() WHERE node = '$node'");
}
sub choices {
    my ($group) = @_;
    return $proxy->safe_psql('postgres',
        "SELECT string_agg(DISTINCT n, ',') FROM (SELECT shardroute.choose_read_node('$group') n FROM generate_series(1, 200)) s");
}

# the monitor picks the new catalog up at its next poll
ok($proxy->poll_query_until('postgres',
        q{SELECT count(*) FROM shardroute.standby_status() WHERE reason = 'ok' AND source = 'primary'}, '2'),
    'both remote standbys sampled through their primaries');
is(choices('ga'), 'a1', 'a1 chosen for ga');
is(choices('gb'), 'b1', 'b1 chosen for gb');

# a closed port does not delay the other samples
is(status('c1', 'eligible'), 'f', 'standby behind a closed port is not eligible');
my $fresh = 1;
for (1 .. 10) {
    $fresh &&= $proxy->safe_psql('postgres',
        qq{SELECT max(sample_age) < interval '${\ (2 * $interval_ms)} ms' FROM shardroute.standby_status()
           WHERE node IN ('a1', 'b1')}) eq 't';
    sleep($interval_ms / 1000 / 2);
}
ok($fresh, 'samples of a1 and b1 stay younger than two poll intervals while c is unreachable');

# pause replay on a1 while a writes: excluded within two poll intervals of crossing max_lag
$standby{a}->safe_psql('postgres', 'SELECT pg_wal_replay_pause()');
my $crossed;
for (1 .. 300) {
    $primary{a}->safe_psql('postgres', 'INSERT INTO t VALUES (1)');
    if ($primary{a}->safe_psql('postgres',
            "SELECT coalesce(replay_lag > interval '1 second', false) FROM pg_stat_replication WHERE application_name = 'a1'") eq 't') {
        $crossed = time;
        last;
    }
    sleep(0.05);
}
ok(defined $crossed, "a1's replay_lag on its primary passed max_lag");
my $excluded;
for (1 .. 100) {
    $primary{a}->safe_psql('postgres', 'INSERT INTO t VALUES (1)');
    if (status('a1', 'reason') eq 'lag') {
        $excluded = time;
        last;
    }
    sleep(0.02);
}
my $delay_ms = defined $excluded && defined $crossed ? int(1000 * ($excluded - $crossed)) : -1;
ok($delay_ms >= 0 && $delay_ms <= 2 * $interval_ms + 300,
    "a1 excluded ${delay_ms} ms after crossing max_lag (two poll intervals = ${\ (2 * $interval_ms)} ms, +300 ms test overhead)");
is(choices('ga'), 'a', 'lagging a1 never chosen: the WRITE node serves ga');
$standby{a}->safe_psql('postgres', 'SELECT pg_wal_replay_resume()');
ok($proxy->poll_query_until('postgres', q{SELECT reason FROM shardroute.standby_status() WHERE node = 'a1'}, 'ok'),
    'a1 eligible again after resume');

# primary b stops: its standby is measured on itself
$primary{b}->stop;
ok($proxy->poll_query_until('postgres', q{SELECT source FROM shardroute.standby_status() WHERE node = 'b1'},
        'standby itself'), "b1 judged on the standby itself once b is down");
ok($proxy->poll_query_until('postgres', q{SELECT reason FROM shardroute.standby_status() WHERE node = 'b1'}, 'ok'),
    'b1 replayed all it received: lag 0 by CommCare\'s rule on the standby');
is(choices('gb'), 'b1', 'gb keeps reading from b1 while b is down');

# the worker is killed: it restarts and routing keeps working
my $pid = $proxy->safe_psql('postgres',
    q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'shardroute lag monitor'});
ok($pid =~ /^\d+$/, "lag monitor running (pid $pid)");
$proxy->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
ok($proxy->poll_query_until('postgres',
        qq{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'shardroute lag monitor' AND pid <> $pid}, '1'),
    'lag monitor restarted');
ok($proxy->poll_query_until('postgres',
        q{SELECT reason || ' ' || source FROM shardroute.standby_status() WHERE node = 'a1'}, 'ok primary'),
    'routing works after the restart');
is(choices('ga'), 'a1', 'a1 chosen again');

# read_stats: every choice counted in shared memory, in every session
$proxy->safe_psql('postgres', 'SELECT shardroute.reset_read_stats()');
$proxy->safe_psql('postgres', q{SELECT shardroute.choose_read_node('ga') FROM generate_series(1, 150)});
$proxy->safe_psql('postgres', q{DO $$ BEGIN PERFORM shardroute.choose_read_node('ga') FROM generate_series(1, 50); END $$});
is($proxy->safe_psql('postgres', q{SELECT string_agg(read_group || ':' || node || '=' || chosen, ',' ORDER BY 1)
                                   FROM shardroute.read_stats() WHERE chosen > 0}),
    'ga:a1=200', 'read_stats counts 200 choices from two sessions (one a DO block)');
is($proxy->safe_psql('postgres', q{SELECT chosen FROM shardroute.nodes WHERE node = 'a1'}), '200',
    'the nodes view shows them');
# counters belong to their database: the same names elsewhere start at nothing
$proxy->safe_psql('postgres', 'CREATE DATABASE other_stats');
$proxy->safe_psql('other_stats', q{CREATE EXTENSION shardroute;
    SELECT shardroute.add_node('a', 'ha'); SELECT shardroute.create_read_group('ga', 'a');
    SELECT shardroute.choose_read_node('ga') FROM generate_series(1, 3)});
is($proxy->safe_psql('other_stats', q{SELECT string_agg(read_group || ':' || node || '=' || chosen, ',') FROM shardroute.read_stats()}),
    'ga:a=3', 'another database counts its own choices only');
$proxy->safe_psql('other_stats', 'SELECT shardroute.reset_read_stats()');
is($proxy->safe_psql('postgres', q{SELECT sum(chosen) FROM shardroute.read_stats()}), '200',
    'and resets its own counters only');
my $since_before = $proxy->safe_psql('postgres', q{SELECT min(since) FROM shardroute.read_stats()});
$proxy->safe_psql('other_stats', 'SELECT shardroute.reset_read_stats()');
is($proxy->safe_psql('postgres', q{SELECT min(since) FROM shardroute.read_stats()}), $since_before,
    'and restarts its own since only');
ok($proxy->safe_psql('other_stats', qq{SELECT min(since) > '$since_before' FROM shardroute.read_stats()}) eq 't',
    'whose since is the time of its reset');
$proxy->safe_psql('postgres', 'SELECT shardroute.reset_read_stats()');
is($proxy->safe_psql('postgres', q{SELECT sum(chosen) FROM shardroute.read_stats()}), '0', 'reset_read_stats');

# A full table (4096 pairs): new pairs go uncounted, logged once; after a
# reset, a pair with nothing chosen since gives its slot to a new pair, and a
# backend that still remembers that slot never counts into the new pair.
$proxy->safe_psql('postgres', 'CREATE DATABASE full_stats');
$proxy->safe_psql('full_stats', q{CREATE EXTENSION shardroute; SELECT shardroute.add_node('a', 'ha');
    SELECT shardroute.create_read_group('g' || lpad(i::text, 4, '0'), 'a') FROM generate_series(1, 4100) i});
my $stale = $proxy->background_psql('full_stats');
$stale->query_safe(q{SELECT shardroute.choose_read_node('g0001')});
my $log_offset = -s $proxy->logfile;
$proxy->safe_psql('full_stats',
    q{SELECT count(shardroute.choose_read_node('g' || lpad(i::text, 4, '0'))) FROM generate_series(2, 4100) i});
is($proxy->safe_psql('full_stats', q{SELECT count(*) || ' ' || sum(chosen) || ' ' || max(read_group) FROM shardroute.read_stats()}),
    '4096 4096 g4096', 'a full table: 4096 pairs counted (slots whose count was 0 reused), the 4 after them not');
is($proxy->safe_psql('postgres', q{SELECT count(*) FROM shardroute.read_stats()}), '0',
    'the other databases\' zeroed slots went to them');
my $full_logged = () = slurp_file($proxy->logfile, $log_offset) =~ /the read_stats table is full/g;
is($full_logged, 1, 'the full table is logged once');
$proxy->safe_psql('full_stats', q{SELECT shardroute.reset_read_stats();
    SELECT count(shardroute.choose_read_node('g' || lpad(i::text, 4, '0'))) FROM generate_series(2, 4096) i;
    SELECT shardroute.choose_read_node('g4097')});
is($proxy->safe_psql('full_stats', q{SELECT string_agg(read_group || '=' || chosen, ',') FROM shardroute.read_stats()
                                      WHERE read_group IN ('g0001', 'g4097')}),
    'g4097=1', 'after a reset, the one slot with a count of 0 (g0001\'s) went to g4097');
$stale->query_safe(q{SELECT shardroute.choose_read_node('g0001')});
is($proxy->safe_psql('full_stats', q{SELECT string_agg(read_group || '=' || chosen, ',') FROM shardroute.read_stats()
                                      WHERE read_group IN ('g0001', 'g4097')}),
    'g4097=1', 'a backend that remembered g0001\'s slot does not count into g4097');
$stale->quit;

done_testing();
