# The lag monitor under faults (issue 10): a frozen walreceiver (local and
# remote), a second database, a node that moves or points at a copy of this
# server, a dead primary, a stalled remote backend, the monitor's own
# credentials, cancel / reload / missing database, and replication_caught_up
# with WAL flushed but not sent; a cascading standby (whose primary is in
# recovery), the caller's pg_stat snapshot, and notes clipped at a character.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $interval_ms = 300;
my @stopped;    # pids we SIGSTOPped: always continued, even when a test dies
sub freeze { my ($pid) = @_; kill 'STOP', $pid; push @stopped, $pid; }
sub thaw { my ($pid) = @_; kill 'CONT', $pid; @stopped = grep { $_ != $pid } @stopped; }
END { kill 'CONT', $_ for @stopped; }

my $proxy = PostgreSQL::Test::Cluster->new('proxy');
$proxy->init(allows_streaming => 1, extra => [ '--encoding=UTF8', '--locale=C' ]);
$proxy->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'shardroute'
shardroute.lag_poll_interval = ${interval_ms}ms
shardroute.lag_monitor_conninfo = 'user=lagmon'
wal_sender_timeout = 0
wal_receiver_status_interval = 1s
});
$proxy->start;
$proxy->safe_psql('postgres', q{
    CREATE EXTENSION shardroute;
    CREATE TABLE t (i int);
    CREATE ROLE lagmon LOGIN IN ROLE pg_monitor;
    CREATE ROLE mallory LOGIN;
    CREATE ROLE app LOGIN;
});
$proxy->backup('pbase');
my $p1 = PostgreSQL::Test::Cluster->new('p1');    # a standby of the proxy itself (same system identifier)
$p1->init_from_backup($proxy, 'pbase', has_streaming => 1);
$p1->append_conf('postgresql.conf', "primary_conninfo = '" . $proxy->connstr . " application_name=p1'\n");
$p1->start;

my $a = PostgreSQL::Test::Cluster->new('a');      # a remote primary, and its standby a1
$a->init(allows_streaming => 1);
$a->append_conf('postgresql.conf', "wal_sender_timeout = 0\n");
$a->start;
$a->safe_psql('postgres', q{CREATE TABLE t (i int); CREATE ROLE lagmon LOGIN IN ROLE pg_monitor; CREATE ROLE mallory LOGIN;});
$a->backup('abase');
my $a1 = PostgreSQL::Test::Cluster->new('a1');
$a1->init_from_backup($a, 'abase', has_streaming => 1);
$a1->append_conf('postgresql.conf', "primary_conninfo = '" . $a->connstr . " application_name=a1'\n");
$a1->start;
$a1->backup('a1base');
my $a2 = PostgreSQL::Test::Cluster->new('a2');    # cascades from a1: its primary is in recovery
$a2->init_from_backup($a1, 'a1base', has_streaming => 1);
$a2->append_conf('postgresql.conf', "primary_conninfo = '" . $a1->connstr . " application_name=q2'\n");
$a2->start;

my $host = $proxy->host;
my $closed = PostgreSQL::Test::Cluster::get_free_port();
$proxy->safe_psql('postgres', qq{
    BEGIN;
    SELECT shardroute.add_node('me', '$host', ${\ $proxy->port}, 'postgres');
    SELECT shardroute.add_standby('p1', 'me', '$host', ${\ $p1->port}, 'postgres', max_lag => '1 second');
    SELECT shardroute.add_node('a', '$host', ${\ $a->port}, 'postgres', options => 'user=mallory connect_timeout=2');
    SELECT shardroute.add_standby('a1', 'a', '$host', ${\ $a1->port}, 'postgres', max_lag => '1 second');
    -- q: a server (a1) whose pg_stat_replication is empty: q1 is sampled, 'not connected', every poll
    SELECT shardroute.add_node('q', '$host', ${\ $a1->port}, 'postgres');
    SELECT shardroute.add_standby('q1', 'q', '127.0.0.1', $closed, 'postgres');
    -- q2 cascades from a1 (= q, in recovery): lag_bytes measured against a1's replay position
    SELECT shardroute.add_standby('q2', 'q', '$host', ${\ $a2->port}, 'postgres', max_lag_bytes => 100000000);
    -- u: a host name of 120 bytes that does not resolve: notes quote it, clipped
    SELECT shardroute.add_node('u', repeat('é', 60), 5432, 'postgres');
    SELECT shardroute.add_standby('u1', 'u', repeat('é', 3), 5432, 'postgres');
    SELECT shardroute.add_node('c', '127.0.0.1', $closed, 'postgres');
    SELECT shardroute.add_standby('c1', 'c', '127.0.0.1', $closed, 'postgres');
    SELECT shardroute.create_read_group('ga', 'a');
    SELECT shardroute.set_read_weight('ga', 'a1', 1);
    SELECT shardroute.create_read_group('gme', 'me');
    SELECT shardroute.set_read_weight('gme', 'p1', 1);
    COMMIT;
});

sub status {
    my ($node, $cols, $db) = @_;
    return $proxy->safe_psql($db // 'postgres', "SELECT $cols FROM shardroute.standby_status() WHERE node = '$node'");
}
sub wait_status {
    my ($node, $cols, $want, $what, $db) = @_;
    ok($proxy->poll_query_until($db // 'postgres',
            "SELECT $cols FROM shardroute.standby_status() WHERE node = '$node'", $want), $what);
}
wait_status('a1', q{reason || ' ' || source}, 'ok primary', 'a1 sampled through its primary');
wait_status('p1', q{reason || ' ' || source}, 'ok local walsender', 'p1 read from the local walsender');

# a standby of a primary that is itself in recovery: lag_bytes against its replay position
wait_status('q2', q{reason || ' ' || source || ' ' || (lag_bytes IS NOT NULL)}, 'ok primary true',
    'q2 (cascading from a1) is judged by lag_bytes against a1\'s replay position');

# a note quoting a long host name is clipped at a character, not inside one
ok($proxy->poll_query_until('postgres',
        q{SELECT octet_length(source) > 100 FROM shardroute.standby_status() WHERE node = 'u1'}),
    'u1 has a long note');
my ($uret, $uout, $uerr) = $proxy->psql('postgres',
    q{SELECT length(source) > 0 AND source LIKE 'none: primary: %' FROM shardroute.standby_status() WHERE node = 'u1'});
is($uout . $uerr, 't', 'the note of u1 is valid text (clipped at a character)');

# reading this server's walsenders keeps the caller's pg_stat_activity snapshot
is($proxy->safe_psql('postgres', q{
        BEGIN;
        SELECT 1 /* marker one */ FROM pg_catalog.pg_stat_activity WHERE pid = pg_backend_pid();
        SELECT shardroute.choose_read_node('gme') IS NOT NULL;
        SELECT query LIKE ('%mark' || 'er one%') FROM pg_catalog.pg_stat_activity WHERE pid = pg_backend_pid();
        COMMIT;}), "1\nt\nt", "choose_read_node does not discard the caller's pg_stat_activity snapshot");

# item 15: the monitor connects as shardroute.lag_monitor_conninfo says, never
# as the catalog's options say; the setting is hidden from other roles
is($a->safe_psql('postgres',
        q{SELECT string_agg(DISTINCT usename, ',') FROM pg_stat_activity WHERE application_name = 'shardroute_lag_monitor'}),
    'lagmon', "the monitor connects to a as lagmon, not as the catalog's user=mallory");
my ($ret, $out, $err) = $proxy->psql('postgres', 'SHOW shardroute.lag_monitor_conninfo', extra_params => [ '-U', 'app' ]);
like($err, qr/must be superuser|permission denied/, 'lag_monitor_conninfo is hidden from a plain role');

# item 3, remote: a1's walreceiver frozen while a writes: excluded within
# max_lag + 2 poll intervals (+ 700 ms for the test's own queries)
sub frozen_exclusion {
    my ($primary, $standby, $node) = @_;
    my $wr = $standby->safe_psql('postgres', 'SELECT pid FROM pg_stat_wal_receiver');
    $primary->safe_psql('postgres', 'INSERT INTO t VALUES (1)');
    sleep(0.3);
    freeze($wr);
    my $frozen = time;
    my $excluded;
    while (time - $frozen < 6) {
        $primary->safe_psql('postgres', 'INSERT INTO t SELECT generate_series(1, 100)');
        if (status($node, 'reason') eq 'lag') { $excluded = time; last; }
        sleep(0.05);
    }
    my $ms = defined $excluded ? int(1000 * ($excluded - $frozen)) : -1;
    ok($ms >= 0 && $ms <= 1000 + 2 * $interval_ms + 700,
        "$node with a frozen walreceiver excluded after $ms ms (max_lag 1000 ms + 2 polls)");
    thaw($wr);
    wait_status($node, 'reason', 'ok', "$node eligible again after its walreceiver resumes");
}
frozen_exclusion($a, $a1, 'a1');
# item 3, local walsender
frozen_exclusion($proxy, $p1, 'p1');

# item 7: WAL flushed but not sent is not "caught up"
$proxy->wait_for_catchup('p1', 'replay', $proxy->lsn('flush'));
ok($proxy->poll_query_until('postgres', q{SELECT shardroute.replication_caught_up('p1')}), 'p1 caught up');
my $walsender = $proxy->safe_psql('postgres', q{SELECT pid FROM pg_stat_replication WHERE application_name = 'p1'});
freeze($walsender);
$proxy->safe_psql('postgres', 'INSERT INTO t VALUES (2)');
is($proxy->safe_psql('postgres', q{SELECT shardroute.replication_caught_up('p1')}), 'f',
    'replication_caught_up is false while WAL is flushed but not sent');
thaw($walsender);
ok($proxy->poll_query_until('postgres', q{SELECT shardroute.replication_caught_up('p1')}), 'caught up again');

# item 4: a second database; the monitor watches 'postgres' only
$proxy->safe_psql('postgres', 'CREATE DATABASE other');
$proxy->safe_psql('other', qq{
    CREATE EXTENSION shardroute;
    BEGIN;
    SELECT shardroute.add_node('me', '$host', ${\ $proxy->port}, 'postgres');
    SELECT shardroute.add_standby('p1_other', 'me', '$host', ${\ $p1->port}, 'postgres', application_name => 'p1');
    SELECT shardroute.add_node('ghost', 'ghost.invalid', 5432, 'postgres');
    SELECT shardroute.add_standby('a1', 'ghost', 'ghost.invalid', 5432, 'postgres');
    COMMIT;
});
is(status('p1_other', q{reason || ' | ' || source}, 'other'),
    'ok | local walsender (the lag monitor watches database "postgres")',
    'in an unwatched database a local standby is judged from the walsenders, and says so');
is(status('a1', 'reason', 'other'), 'not connected', "a1 of 'other' does not borrow a1's sample from 'postgres'");

# item 5: 'me' moves to a copy of this server (p1: same system identifier,
# another server): its standbys are judged there, not from local walsenders
$proxy->safe_psql('postgres', "SELECT shardroute.alter_node('me', port => ${\ $p1->port})");
wait_status('p1', q{reason || ' ' || source}, 'not connected primary',
    'after the move, p1 is looked up on the new primary (same system identifier, other server)');
$proxy->safe_psql('postgres', "SELECT shardroute.alter_node('me', port => ${\ $proxy->port})");
wait_status('p1', q{reason || ' ' || source}, 'ok local walsender', 'moved back: local walsender again');

# item 18: a remote backend that stops answering delays no other sample
my $backend = $a->safe_psql('postgres',
    q{SELECT pid FROM pg_stat_activity WHERE application_name = 'shardroute_lag_monitor' LIMIT 1});
freeze($backend);
my $fresh = 1;
my @a1_wrong;
my $t0 = time;
while (time - $t0 < 3) {
    $fresh &&= $proxy->safe_psql('postgres',
        qq{SELECT sample_age < interval '${\ (2 * $interval_ms)} ms' AND reason = 'not connected'
           FROM shardroute.standby_status() WHERE node = 'q1'}) eq 't';
    my $a1_now = status('a1', q{reason || ' | ' || source});
    push @a1_wrong, $a1_now if $a1_now =~ /^not connected/;
    sleep(0.1);
}
is(scalar(@a1_wrong), 0, "healthy a1 never 'not connected' while a's backend is stalled (@a1_wrong[0..0])");
ok($proxy->poll_query_until('postgres', q{SELECT reason FROM shardroute.standby_status() WHERE node = 'a1'}, 'ok'),
    'a1 sampled again over a new connection while the old backend is stalled');
ok($fresh, 'the stalled backend of a delays no other sample (q1 younger than 2 polls throughout)');
thaw($backend);

# item 19: sample_age is NULL without a sample, and source says why
is(status('c1', q{sample_age IS NULL}), 't', 'c1 was never sampled: sample_age is NULL');
like(status('c1', 'source'), qr/^none: primary: cannot connect/, 'source says why c1 has no sample');
# the monitor's failures are in standby_status, not only in the server log
like(status('c1', q{monitor_error || ' | ' || (monitor_error_at > now() - interval '1 minute') || ' | '
                    || (monitor_ok_at IS NULL)}),
    qr/^primary: cannot connect.* \| true \| true$/, 'c1: the last failure and when; never a success');
# a1's stalled poll above failed once; its later samples keep that failure on record
like(status('a1', q{coalesce(monitor_error, 'none') || ' | ' || (monitor_ok_at > monitor_error_at)}),
    qr/ \| true$/, 'a1: sampled again after its last failure (the failure kept on record)');

# item 19: pg_cancel_backend does not kill the worker
my $worker = $proxy->safe_psql('postgres',
    q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'shardroute lag monitor'});
$proxy->safe_psql('postgres', "SELECT pg_cancel_backend($worker)");
sleep(3 * $interval_ms / 1000);
is($proxy->safe_psql('postgres', q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'shardroute lag monitor'}),
    $worker, 'the worker survives pg_cancel_backend');

# item 19: the monitored database follows a reload
$proxy->append_conf('postgresql.conf', "shardroute.lag_monitor_database = 'other'\n");
$proxy->reload;
wait_status('p1', 'source', 'local walsender (the lag monitor watches database "other")',
    "after a reload the monitor watches 'other'");
ok($proxy->poll_query_until('other', q{SELECT source FROM shardroute.standby_status() WHERE node = 'p1_other'},
        'local walsender'), "'other' now has the monitor's samples");

# item 19: a missing database: back off, say why, no FATAL every second
my $log_offset = -s $proxy->logfile;
$proxy->append_conf('postgresql.conf', "shardroute.lag_monitor_database = 'nosuchdb'\n");
$proxy->reload;
sleep(6);
my $fatals = () = slurp_file($proxy->logfile, $log_offset) =~ /database "nosuchdb" does not exist/g;
ok($fatals >= 1 && $fatals <= 3, "$fatals connection attempts to a missing database in 6 s (backing off)");
like(status('p1', 'source'), qr/cannot connect to database "nosuchdb"/, 'standby_status says why samples are missing');
$proxy->append_conf('postgresql.conf', "shardroute.lag_monitor_database = 'postgres'\n");
$proxy->reload;
wait_status('a1', q{reason || ' ' || source}, 'ok primary', 'back on postgres after the reload');

# item 6: a dead primary: its standby judges itself by CommCare's rule
$a->stop;
wait_status('a1', q{reason || ' ' || source}, 'ok standby itself',
    'a1 replayed all it received from the dead a: lag 0, eligible');
is($proxy->safe_psql('postgres',
        q{SELECT string_agg(DISTINCT n, ',') FROM (SELECT shardroute.choose_read_node('ga') n FROM generate_series(1, 50)) s}),
    'a1', 'reads keep going to a1 while a is down');

# item 18: a fast stop finishes promptly while a remote backend is stalled
$backend = $a1->safe_psql('postgres',
    q{SELECT pid FROM pg_stat_activity WHERE application_name = 'shardroute_lag_monitor' LIMIT 1});
freeze($backend);
sleep(2 * $interval_ms / 1000);
my $t1 = time;
$proxy->stop('fast');
my $stop_s = time - $t1;
ok($stop_s < 5, sprintf('fast stop of the proxy took %.1f s', $stop_s));
thaw($backend);

done_testing();
