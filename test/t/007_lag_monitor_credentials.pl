# The lag monitor's credentials (review of issue 10): without a passfile in
# shardroute.lag_monitor_conninfo the monitor never reads the OS user's
# password file (~/.pgpass or PGPASSFILE), so a host an operator adds to the
# catalog cannot collect a stored password; a passfile or password configured
# for the monitor is used.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# a password file the server's environment points libpq at (what ~/.pgpass is
# for the postgres OS user)
my $pgpass = PostgreSQL::Test::Utils::tempdir() . '/pgpass';
open(my $fh, '>', $pgpass) or die "cannot write $pgpass: $!";
print $fh "*:*:*:lagmon:secret\n";
close($fh);
chmod 0600, $pgpass;
$ENV{PGPASSFILE} = $pgpass;

my $x = PostgreSQL::Test::Cluster->new('x');    # a primary that asks lagmon for a password
$x->init;
$x->start;
$x->safe_psql('postgres', q{CREATE ROLE lagmon LOGIN PASSWORD 'secret' IN ROLE pg_monitor});
my $hba = $x->data_dir . '/pg_hba.conf';
my $rules = slurp_file($hba);
open($fh, '>', $hba) or die;
print $fh "local all lagmon scram-sha-256\n$rules";
close($fh);
$x->reload;

my $proxy = PostgreSQL::Test::Cluster->new('proxy');
$proxy->init;
$proxy->append_conf('postgresql.conf', q{
shared_preload_libraries = 'shardroute'
shardroute.lag_poll_interval = 300ms
shardroute.lag_monitor_conninfo = 'user=lagmon'
});
$proxy->start;
my $host = $x->host;
my $closed = PostgreSQL::Test::Cluster::get_free_port();
$proxy->safe_psql('postgres', qq{
    CREATE EXTENSION shardroute;
    BEGIN;
    SELECT shardroute.add_node('x', '$host', ${\ $x->port}, 'postgres');
    SELECT shardroute.add_standby('x1', 'x', '127.0.0.1', $closed, 'postgres');
    COMMIT;
});
sub source_of_x1 {
    return $proxy->safe_psql('postgres', q{SELECT source FROM shardroute.standby_status() WHERE node = 'x1'});
}

# no passfile configured: the password in PGPASSFILE is not offered to x
ok($proxy->poll_query_until('postgres',
        q{SELECT source LIKE 'none: primary: cannot connect%' FROM shardroute.standby_status() WHERE node = 'x1'}),
    'without a configured passfile the monitor cannot log in to x');
like(source_of_x1(), qr/password/, 'x asked for a password the monitor did not have: ' . source_of_x1());
is($x->safe_psql('postgres',
        q{SELECT count(*) FROM pg_stat_activity WHERE application_name = 'shardroute_lag_monitor'}),
    '0', 'no monitor session on x');

# a passfile configured for the monitor is used
$proxy->append_conf('postgresql.conf', "shardroute.lag_monitor_conninfo = 'user=lagmon passfile=$pgpass'\n");
$proxy->reload;
ok($proxy->poll_query_until('postgres',
        q{SELECT reason || ' ' || source FROM shardroute.standby_status() WHERE node = 'x1'}, 'not connected primary'),
    'with passfile in lag_monitor_conninfo the monitor logs in to x');

# so is a password configured there
$proxy->append_conf('postgresql.conf', "shardroute.lag_monitor_conninfo = 'user=lagmon password=secret'\n");
$proxy->reload;
$x->safe_psql('postgres',
    q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'shardroute_lag_monitor'});
ok($x->poll_query_until('postgres',
        q{SELECT count(*) > 0 FROM pg_stat_activity WHERE application_name = 'shardroute_lag_monitor'}),
    'with password in lag_monitor_conninfo the monitor logs in to x');

done_testing();
