# Upgrading from every released version (1.0, 1.1) gives the same extension as
# a fresh install of the current version: every member object (functions with their bodies,
# settings, owners' grants; tables, triggers, comments) and the same routing.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->start;

my $current = $node->safe_psql('postgres',
    q{SELECT default_version FROM pg_available_extensions WHERE name = 'shardroute'});
isnt($current, '1.0', "the current version ($current) is not 1.0");

my $topology = q{
    BEGIN;
    SELECT shardroute.add_node('proxy', 'pg0', 5432, 'commcarehq_proxy');
    SELECT shardroute.add_node('p1', 'pg1', 5432, 'commcarehq_p1', 'user=commcarehq');
    SELECT shardroute.add_node('p2', 'pg2', 6432, 'commcarehq_p2');
    SELECT shardroute.add_standby('p1_standby', 'p1', 'pg1s', 5432, 'commcarehq_p1', '30 seconds', 1048576, 'p1s');
    SELECT shardroute.create_cluster('commcarehq', 1024, 'siphash24', 'proxy');
    SELECT shardroute.assign_shards('commcarehq', 'p1', 0, 511);
    SELECT shardroute.assign_shards('commcarehq', 'p2', 512, 1023);
    SELECT shardroute.create_read_group('ucr', 'p1');
    SELECT shardroute.set_read_weight('ucr', 'p1', 1);
    SELECT shardroute.set_read_weight('ucr', 'p1_standby', 2);
    COMMIT;
};

$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION shardroute');
$node->safe_psql('fresh', $topology);

# Every member of the extension, described by what matters to a user.
my $members = q{
WITH m AS (SELECT classid, objid FROM pg_depend
            WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
              AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'shardroute'))
SELECT string_agg(d, E'\n' ORDER BY d) FROM (
    SELECT format('function %s %s secdef=%s config=%s acl=%s comment=%s', p.oid::regprocedure,
                  md5(pg_get_functiondef(p.oid)), p.prosecdef, p.proconfig, p.proacl,
                  md5(coalesce(obj_description(p.oid, 'pg_proc'), '')))
      FROM m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid WHERE p.prokind IN ('f', 'p')
    UNION ALL
    SELECT format('relation %s kind=%s acl=%s comment=%s columns=%s', c.oid::regclass, c.relkind, c.relacl,
                  md5(coalesce(obj_description(c.oid, 'pg_class'), '')),
                  (SELECT string_agg(format('%s:%s:%s:%s', a.attname, format_type(a.atttypid, a.atttypmod),
                                            a.attnotnull, pg_get_expr(ad.adbin, ad.adrelid)), ',' ORDER BY a.attnum)
                     FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
                    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped))
      FROM m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
    UNION ALL
    SELECT format('trigger %s', pg_get_triggerdef(t.oid))
      FROM pg_trigger t JOIN m ON m.classid = 'pg_class'::regclass AND t.tgrelid = m.objid WHERE NOT t.tgisinternal
    UNION ALL
    SELECT format('constraint %s on %s: %s', co.conname, co.conrelid::regclass, pg_get_constraintdef(co.oid))
      FROM pg_constraint co JOIN m ON m.classid = 'pg_class'::regclass AND co.conrelid = m.objid
    UNION ALL
    SELECT format('config dump %s', x) FROM pg_extension e, unnest(e.extconfig::regclass[]) x
     WHERE e.extname = 'shardroute'
) s(d)};
# pg_dump --binary-upgrade --schema-only writes every member of an extension
# (a plain dump writes only CREATE EXTENSION); what differs between two
# databases by construction (OIDs, LSNs, xids, the dump's random key) is masked.
sub schema_dump {
    my ($db) = @_;
    my ($stdout, $stderr) = run_command(['pg_dump', '--binary-upgrade', '--schema-only', '-d', $node->connstr($db)]);
    die "pg_dump $db: $stderr" if $stderr =~ /error/i;
    $stdout =~ s/^\\(un)?restrict .*\n//mg;
    $stdout =~ s/'\d+'::pg_catalog\.oid/'OID'::pg_catalog.oid/g;
    $stdout =~ s/WHERE oid = '\d+'/WHERE oid = 'OID'/g;
    $stdout =~ s/(binary_upgrade_create_empty_extension\('shardroute', 'shardroute', false, '[\d.]+', )'\{[\d,]*\}'/$1'{OIDS}'/g;
    $stdout =~ s/'\{[0-9A-F\/,]+\}'::pg_catalog\.pg_lsn/'{LSN}'::pg_catalog.pg_lsn/g;
    $stdout =~ s/relfrozenxid = '\d+', relminmxid = '\d+'/relfrozenxid = X, relminmxid = X/g;
    return $stdout;
}
my $fresh_dump = schema_dump('fresh');
like($fresh_dump, qr/ALTER EXTENSION shardroute ADD FUNCTION shardroute\.node_for_key/, 'the dump lists extension members');

for my $from ('1.0', '1.1', '1.2', '1.3') {
    my $db = "from_" . ($from =~ s/\./_/r);
    $node->safe_psql('postgres', "CREATE DATABASE $db");
    $node->safe_psql($db, "CREATE EXTENSION shardroute VERSION '$from'");
    $node->safe_psql($db, $topology);
    $node->safe_psql($db, 'ALTER EXTENSION shardroute UPDATE');
    is($node->safe_psql($db, q{SELECT extversion FROM pg_extension WHERE extname = 'shardroute'}),
        $current, "ALTER EXTENSION UPDATE from $from reaches $current");

    my $upgraded = $node->safe_psql($db, $members);
    my $fresh = $node->safe_psql('fresh', $members);
    ok(length($fresh) > 1000, "$from: the member list is not empty");
    is($upgraded, $fresh, "an upgraded $from has exactly the members of a fresh install");
    if ($upgraded ne $fresh) {
        my %u = map { $_ => 1 } split /\n/, $upgraded;
        my %f = map { $_ => 1 } split /\n/, $fresh;
        diag("only after upgrade: $_") for grep { !$f{$_} } sort keys %u;
        diag("only in fresh install: $_") for grep { !$u{$_} } sort keys %f;
    }

    my $dump = schema_dump($db);
    is($dump, $fresh_dump, "$from: pg_dump --binary-upgrade --schema-only equals a fresh install's");
    if ($dump ne $fresh_dump) {
        my @d = split /\n/, $dump;
        my @f = split /\n/, $fresh_dump;
        for my $i (0 .. $#f) {
            if (($d[$i] // '') ne $f[$i]) { diag("first difference at line $i:\n  upgraded: " . ($d[$i] // '') . "\n  fresh:    $f[$i]"); last; }
        }
    }

    # The topology survives the upgrade, and routes as a fresh install does.
    my $catalog = q{SELECT shardroute._snapshot() - 'relids'};
    is($node->safe_psql($db, $catalog), $node->safe_psql('fresh', $catalog), "$from: same catalog");
    my $keys = q{SELECT string_agg(shardroute.node_for_key('commcarehq', i::text), ',' ORDER BY i)
                 FROM generate_series(1, 200) i};
    is($node->safe_psql($db, $keys), $node->safe_psql('fresh', $keys), "$from: same routing of 200 keys");
    is($node->safe_psql($db, 'SELECT count(*) FROM shardroute.check_topology()'), '0', "$from: still valid");
}

$node->stop;
done_testing();
