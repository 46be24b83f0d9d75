# Errors as users see them (psql, VERBOSITY verbose): the LOCATION of an error
# raised in C++ is the code that raised it, never the guard that reports it;
# the same mistake gets the same SQLSTATE everywhere (an unknown node, cluster
# or read group: 42704, naming the known ones).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('errors');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
    CREATE EXTENSION shardroute;
    SELECT shardroute.add_node('a', 'h1'), shardroute.add_node('b', 'h2');
    SELECT shardroute.create_cluster('c', 4);
    SELECT shardroute.assign_shards('c', 'a', 0, 3);
    SELECT shardroute.create_read_group('g', 'a');
});

sub verbose_error {
    my ($sql) = @_;
    my ($rc, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\n$sql");
    return $err;
}

my %raised_in = (
    q{SELECT shardroute.node_for_key('nope', 'x')}            => qr/LOCATION:  unknown_cluster, lookup_functions\.cpp:\d+/,
    q{SELECT shardroute.hash_string('x', 'md5')}              => qr/LOCATION:  parse_algorithm, algorithm\.cpp:\d+/,
    q{SELECT shardroute.choose_read_node('nope')}             => qr/LOCATION:  .*, read_functions\.cpp:\d+/,
    q{SELECT shardroute.node_for_shard('c', 99)}              => qr/LOCATION:  .*, lookup_functions\.cpp:\d+/,
    q{SELECT * FROM shardroute.import_django_settings('[]')}  => qr/LOCATION:  .*, [a-z_]+\.cpp:\d+/,
);
for my $sql (sort keys %raised_in) {
    my $err = verbose_error($sql);
    like($err, $raised_in{$sql}, "$sql: LOCATION is where it was raised");
    unlike($err, qr/guard\.cpp/, "$sql: not the guard");
}

# an unknown object: 42704 and the known names, whichever function meets it
for my $case (
    [q{SELECT shardroute.assign_shards('c', 'zz', 0, 3)}, 'node "zz"', 'Known nodes: a, b.'],
    [q{SELECT shardroute.set_read_weight('g', 'zz', 1)}, 'node "zz"', 'Known nodes: a, b.'],
    [q{SELECT shardroute.drop_node('zz')}, 'node "zz"', 'Known nodes: a, b.'],
    [q{SELECT shardroute.alter_node('zz', host => 'x')}, 'node "zz"', 'Known nodes: a, b.'],
    [q{SELECT shardroute.node_for_key('zz', 'k')}, 'cluster "zz"', 'Known clusters: c.'],
    [q{SELECT shardroute.assign_shards('zz', 'a', 0, 3)}, 'cluster "zz"', 'Known clusters: c.'],
    [q{SELECT * FROM shardroute.explain_key('zz', 'k')}, 'cluster "zz"', 'Known clusters: c.'],
    [q{SELECT shardroute.choose_read_node('zz')}, 'read group "zz"', 'Known read groups: g.'],
    [q{SELECT shardroute.set_read_weight('zz', 'a', 1)}, 'read group "zz"', 'Known read groups: g.'],
    [q{SELECT shardroute.drop_read_group('zz')}, 'read group "zz"', 'Known read groups: g.']) {
    my ($sql, $what, $known) = @$case;
    my $err = verbose_error($sql);
    like($err, qr/ERROR:  42704: \Q$what\E does not exist\nDETAIL:  \Q$known\E/, "$sql: 42704, $known");
}

done_testing();
