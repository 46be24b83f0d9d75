# The Django router of clients/django against a real primary and a real
# streaming standby: clients/django/tests/check_router.py configures Django
# with the catalog's export_django_settings() and checks balancing,
# read-your-writes (replay paused on the standby) and topology changes seen
# through NOTIFY shardroute_topology. Each of its checks is a test point here.
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $client = abs_path(dirname(__FILE__) . '/../../clients/django');
die "clients/django not found next to test/ (copy it with the tests)" unless -d "$client/shardroute_django";
# Debian's python3 first: another python3 earlier in PATH may lack the Debian modules
my ($python) = grep { system("$_ -c 'import django, psycopg2' 2>/dev/null") == 0 } ('/usr/bin/python3', 'python3');
plan skip_all => 'python3-django or python3-psycopg2 is not installed (apt-get install python3-django python3-psycopg2)'
    unless $python;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->start;
$primary->safe_psql('postgres', q{
    CREATE EXTENSION shardroute;
    CREATE TABLE users_account (id serial PRIMARY KEY, name text NOT NULL);
    CREATE TABLE reports_daily (id serial PRIMARY KEY, name text NOT NULL);
    CREATE TABLE audit_event (id serial PRIMARY KEY, name text NOT NULL);
    INSERT INTO users_account (name) VALUES ('seed');
    INSERT INTO reports_daily (name) VALUES ('seed');
    INSERT INTO audit_event (name) VALUES ('seed');
});
$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby1');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->append_conf('postgresql.conf', "primary_conninfo = '" . $primary->connstr . " application_name=standby1'");
$standby->start;

# the fleet's settings, as localsettings.py would hold them
my ($host, $port, $standby_port) = ($primary->host, $primary->port, $standby->port);
$primary->safe_psql('postgres', qq{SELECT count(*) FROM shardroute.import_django_settings('{
  "DATABASES": {
    "default": {"HOST": "$host", "PORT": $port, "NAME": "postgres"},
    "standby1": {"HOST": "$host", "PORT": $standby_port, "NAME": "postgres",
                 "STANDBY": {"MASTER": "default", "ACCEPTABLE_REPLICATION_DELAY": 3600}}},
  "LOAD_BALANCED_APPS": {"users": {"WRITE": "default", "READ": [["default", 1], ["standby1", 3]]}},
  "REPORTING_DATABASES": {"ucr": {"WRITE": "default", "READ": [["default", 1], ["standby1", 1]]}}}')});
$primary->wait_for_catchup('standby1', 'replay', $primary->lsn('insert'));
ok($primary->poll_query_until('postgres',
        "SELECT reason FROM shardroute.standby_status() WHERE node = 'standby1'", 'ok'),
    'standby1 is eligible');

local $ENV{PYTHONPATH} = "$client:$client/tests/apps";
local $ENV{PYTHONDONTWRITEBYTECODE} = 1;
my ($out, $err) = ('', '');
my $ran = IPC::Run::run([ $python, "$client/tests/check_router.py", $host, $port ],
    '>', \$out, '2>', \$err, IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
for my $line (split /\n/, $out) {
    my ($not, $name) = $line =~ /^(not )?ok - (.*)$/ or next;
    ok(!$not, $name);
}
ok($ran && $out =~ /^done$/m, 'check_router.py ran to the end') or diag("stdout:\n$out\nstderr:\n$err");

done_testing();
