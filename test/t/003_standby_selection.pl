# Weighted, lag-aware read routing against a real primary and two streaming
# standbys (pg_basebackup, application_name in primary_conninfo).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->start;
$primary->safe_psql('postgres', q{
    CREATE EXTENSION shardroute;
    CREATE TABLE t (i int);
    CREATE FUNCTION write_some() RETURNS int LANGUAGE sql AS $$ INSERT INTO t SELECT 1 RETURNING 1 $$;
    CREATE TABLE choices (node text, at timestamptz);
});
my ($host, $port) = ($primary->host, $primary->port);

$primary->backup('base');
my %standby;
for my $name ('s1', 's2') {
    my $s = PostgreSQL::Test::Cluster->new($name);
    $s->init_from_backup($primary, 'base', has_streaming => 1);
    # the standby names itself in pg_stat_replication (s2 under another name than its node)
    my $app = $name eq 's2' ? 's2_app' : 's1';
    $s->append_conf('postgresql.conf', "primary_conninfo = '" . $primary->connstr . " application_name=$app'");
    $s->start;
    $standby{$name} = $s;
}
my ($s1, $s2) = @standby{ 's1', 's2' };

$primary->safe_psql('postgres', qq{
    BEGIN;
    SELECT shardroute.add_node('primary', '$host', $port, 'postgres');
    SELECT shardroute.add_standby('s1', 'primary', '$host', ${\ $s1->port}, 'postgres', max_lag => '2 seconds');
    SELECT shardroute.add_standby('s2', 'primary', '$host', ${\ $s2->port}, 'postgres', max_lag => '2 seconds',
                                  application_name => 's2_app');
    SELECT shardroute.create_read_group('ucr', 'primary');
    SELECT shardroute.set_read_weight('ucr', 'primary', 1);
    SELECT shardroute.set_read_weight('ucr', 's1', 2);
    SELECT shardroute.set_read_weight('ucr', 's2', 2);
    SELECT shardroute.create_read_group('standbys_only', 'primary');
    SELECT shardroute.set_read_weight('standbys_only', 's1', 1);
    SELECT shardroute.set_read_weight('standbys_only', 's2', 1);
    COMMIT;
});
$primary->wait_for_catchup('s1', 'replay', $primary->lsn('insert'));
$primary->wait_for_catchup('s2_app', 'replay', $primary->lsn('insert'));

sub status {
    my ($node) = @_;
    return $primary->safe_psql('postgres', "SELECT reason FROM shardroute.standby_status() WHERE node = '$node'");
}
# share (percent) of each node over $n choices
sub shares {
    my ($group, $n, $extra) = @_;
    $extra //= '';
    my $rows = $primary->safe_psql('postgres', qq{
        SELECT n, count(*) FROM (SELECT shardroute.choose_read_node('$group'$extra) AS n
                                 FROM generate_series(1, $n)) s GROUP BY n});
    my %share = map { my ($k, $v) = split /\|/; ($k => 100.0 * $v / $n) } split /\n/, $rows;
    return \%share;
}
# keeps the primary writing while waiting for a standby's reason
sub wait_reason {
    my ($node, $reason) = @_;
    ok($primary->poll_query_until('postgres',
            "SELECT reason FROM (SELECT write_some()) w, shardroute.standby_status() WHERE node = '$node'", $reason),
        "$node becomes '$reason'");
}

# (a) all fresh: 20/40/40 within 2 points over 20,000 calls
is(status('s1'), 'ok', 's1 eligible');
is(status('s2'), 'ok', 's2 eligible (matched by application_name s2_app)');
my $s = shares('ucr', 20000);
ok(abs(($s->{primary} // 0) - 20) <= 2, "primary share $s->{primary}% ~ 20%");
ok(abs(($s->{s1} // 0) - 40) <= 2, "s1 share $s->{s1}% ~ 40%");
ok(abs(($s->{s2} // 0) - 40) <= 2, "s2 share $s->{s2}% ~ 40%");

# weights whose sum overflows a double (1e308 + 1e308) still split fairly
$primary->safe_psql('postgres', q{SELECT shardroute.set_read_weight('standbys_only', 's1', 1e308),
                                         shardroute.set_read_weight('standbys_only', 's2', 1e308)});
$s = shares('standbys_only', 4000);
ok(abs(($s->{s1} // 0) - 50) <= 5 && abs(($s->{s2} // 0) - 50) <= 5,
    "weights 1e308 and 1e308: s1 $s->{s1}%, s2 ${\ ($s->{s2} // 0)}% ~ 50/50");
$primary->safe_psql('postgres', q{SELECT shardroute.set_read_weight('standbys_only', 's1', 1),
                                         shardroute.set_read_weight('standbys_only', 's2', 1)});

# weights change in one session while others choose in a loop: no error, and
# the new weights apply from the first call that starts after the commit
my $script = $primary->basedir . '/choose.sql';
PostgreSQL::Test::Utils::append_to_file($script,
    "INSERT INTO choices VALUES (shardroute.choose_read_node('ucr'), statement_timestamp());\n");
my ($out, $err) = ('', '');
my $bench = IPC::Run::start(
    [ 'pgbench', '-n', '-h', $host, '-p', $port, '-c', '2', '-T', '6', '-f', $script, 'postgres' ],
    '>', \$out, '2>', \$err);
for my $i (1 .. 20) {
    $primary->safe_psql('postgres', "SELECT shardroute.set_read_weight('ucr', 's1', " . (1 + $i % 3) . ')');
    select(undef, undef, undef, 0.1);
}
$primary->safe_psql('postgres', "SELECT shardroute.set_read_weight('ucr', 's2', 0)");
my $committed = $primary->safe_psql('postgres', 'SELECT clock_timestamp()');
$bench->finish;
is($bench->result(0), 0, 'pgbench choosing during weight changes exits 0');
like($out, qr/number of failed transactions: 0 /, 'no call failed during weight changes');
my $after = $primary->safe_psql('postgres', qq{
    SELECT count(*) || ' ' || count(*) FILTER (WHERE node = 's2') FROM choices WHERE at > '$committed'});
my ($calls_after, $s2_after) = split / /, $after;
ok($calls_after > 50, "$calls_after calls started after the commit");
is($s2_after, '0', 'none of them chose the removed member');
$primary->safe_psql('postgres', "SELECT shardroute.set_read_weight('ucr', 's1', 2), shardroute.set_read_weight('ucr', 's2', 2)");

# (b) replay paused on s1 while the primary writes: once past max_lag, never chosen
$s1->safe_psql('postgres', 'SELECT pg_wal_replay_pause()');
wait_reason('s1', 'lag');
$s = shares('ucr', 2000);
is($s->{s1} // 0, 0, 's1 never chosen while lagging');
ok(($s->{s2} // 0) > 0, 's2 still chosen');
$s1->safe_psql('postgres', 'SELECT pg_wal_replay_resume()');
wait_reason('s1', 'ok');
$s = shares('ucr', 2000);
ok(($s->{s1} // 0) > 20, 's1 chosen again after resume');

# (c) max_lag_bytes excludes by bytes in the same way (time lag allowed: 1 hour)
$primary->safe_psql('postgres', "SELECT shardroute.alter_node('s2', max_lag => '1 hour', max_lag_bytes => 65536)");
$s2->safe_psql('postgres', 'SELECT pg_wal_replay_pause()');
$primary->safe_psql('postgres', 'INSERT INTO t SELECT generate_series(1, 5000)');
wait_reason('s2', 'lag bytes');
$s = shares('ucr', 2000);
is($s->{s2} // 0, 0, 's2 never chosen while too many bytes behind');
$s2->safe_psql('postgres', 'SELECT pg_wal_replay_resume()');
wait_reason('s2', 'ok');

# (f) read-your-writes: s1 paused but allowed any lag; after a write, never s1
$primary->safe_psql('postgres', "SELECT shardroute.alter_node('s1', max_lag => '1 hour')");
$s1->safe_psql('postgres', 'SELECT pg_wal_replay_pause()');
$primary->safe_psql('postgres', 'SELECT write_some()');
my $lsn = $primary->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
$s = shares('ucr', 2000, ", '$lsn'");
is($s->{s1} // 0, 0, 'with min_lsn after the write, the paused s1 is never chosen');
ok(($s->{s2} // 0) > 0, 'with min_lsn, the caught-up s2 is chosen');
$s = shares('ucr', 2000);
ok(($s->{s1} // 0) > 0, 'without min_lsn, s1 (within its 1 hour max_lag) is still chosen');
$s1->safe_psql('postgres', 'SELECT pg_wal_replay_resume()');
$primary->safe_psql('postgres', "SELECT shardroute.alter_node('s1', max_lag => '2 seconds')");
wait_reason('s1', 'ok');

# (d) s2 stopped: not connected, never chosen
$s2->stop;
wait_reason('s2', 'not connected');
$s = shares('ucr', 2000);
is($s->{s2} // 0, 0, 's2 never chosen once stopped');

# (e) both out: the WRITE node
$s1->safe_psql('postgres', 'SELECT pg_wal_replay_pause()');
$primary->safe_psql('postgres', "SELECT shardroute.alter_node('s1', max_lag => '1 second')");
wait_reason('s1', 'lag');
$s = shares('standbys_only', 1000);
is($s->{primary} // 0, 100, 'no eligible standby: every read goes to the WRITE node');

my $status = $primary->safe_psql('postgres',
    'SELECT node, state IS NULL, eligible, reason FROM shardroute.standby_status() ORDER BY node');
is($status, "s1|f|f|lag\ns2|t|f|not connected", 'standby_status says why');

done_testing();
