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
    CREATE EXTENSION plproxy;
    SELECT shardroute.add_node('a', 'h1'), shardroute.add_node('b', 'h2');
    SELECT shardroute.add_standby('s', 'a', 'h3');
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
    q{SELECT shardroute.choose_read_node('nope')}             => qr/LOCATION:  lambda in shardroute_choose_read_node, read_functions\.cpp:\d+/,
    q{SELECT shardroute.conninfo('nope')}                     => qr/LOCATION:  shardroute_conninfo_body, lookup_functions\.cpp:\d+/,
    q{SELECT shardroute.node_for_shard('c', 99)}              => qr/LOCATION:  .*, lookup_functions\.cpp:\d+/,
    q{SELECT * FROM shardroute.import_django_settings('[]')}  => qr/LOCATION:  .*, [a-z_]+\.cpp:\d+/,
);
for my $sql (sort keys %raised_in) {
    my $err = verbose_error($sql);
    like($err, $raised_in{$sql}, "$sql: LOCATION is where it was raised");
    unlike($err, qr/guard\.cpp/, "$sql: not the guard");
}

# an unknown object: 42704, the known names and how to create one, whichever
# function meets it, in C++ or in PL/pgSQL (one rule: topology/unknown.cpp)
my %known = (
    'node'       => 'Known nodes: a, b, s.',
    'standby'    => 'Known standbys: s.',
    'cluster'    => 'Known clusters: c.',
    'read group' => 'Known read groups: g.');
my %hint = (
    'node'       => 'Register it with shardroute.add_node(), shardroute.add_standby() or shardroute.import_django_settings().',
    'standby'    => 'Register it with shardroute.add_standby() or shardroute.import_django_settings().',
    'cluster'    => 'Create it with shardroute.create_cluster() or shardroute.import_django_settings().',
    'read group' => 'Create it with shardroute.create_read_group() or shardroute.import_django_settings().');
my @unknown = (
    [q{SELECT shardroute.assign_shards('c', 'zz', 0, 3)}, 'node'],
    [q{SELECT shardroute.set_read_weight('g', 'zz', 1)}, 'node'],
    [q{SELECT shardroute.drop_node('zz')}, 'node'],
    [q{SELECT shardroute.alter_node('zz', host => 'x')}, 'node'],
    [q{SELECT shardroute.move_node('zz', 'x')}, 'node'],
    [q{SELECT shardroute.conninfo('zz')}, 'node'],
    [q{SELECT shardroute.add_standby('s2', 'zz', 'h3')}, 'node'],
    [q{SELECT shardroute.create_read_group('g2', 'zz')}, 'node'],
    [q{SELECT shardroute.create_cluster('c2', 4, 'siphash24', 'zz')}, 'node'],
    [q{SELECT shardroute.create_cluster('c2', 4, 'siphash24', 'a', 'zz')}, 'node'],
    [q{SELECT shardroute.promote_standby('zz')}, 'standby'],
    [q{SELECT shardroute.replication_caught_up('zz')}, 'standby'],
    [q{SELECT shardroute.node_for_key('zz', 'k')}, 'cluster'],
    [q{SELECT shardroute.node_for_key('zz', gen_random_uuid())}, 'cluster'],
    [q{SELECT shardroute.shard_for_key('zz', 'k')}, 'cluster'],
    [q{SELECT shardroute.node_for_shard('zz', 0)}, 'cluster'],
    [q{SELECT * FROM shardroute.route_keys('zz', '{k}')}, 'cluster'],
    [q{SELECT shardroute.read_node_for_key('zz', 'k')}, 'cluster'],
    [q{SELECT * FROM shardroute.explain_key('zz', 'k')}, 'cluster'],
    [q{SELECT shardroute.plproxy_sync('zz')}, 'cluster'],
    [q{SELECT shardroute.read_cluster('zz')}, 'cluster'],
    [q{SELECT shardroute.assign_shards('zz', 'a', 0, 3)}, 'cluster'],
    [q{SELECT shardroute.drop_cluster('zz')}, 'cluster'],
    [q{SELECT shardroute.add_sharded_table('zz', 't', 'k')}, 'cluster'],
    [q{SELECT shardroute.drop_sharded_table('zz', 't')}, 'cluster'],
    [q{SELECT * FROM shardroute.shard_distribution('zz')}, 'cluster'],
    [q{SELECT * FROM shardroute.misplaced_rows('zz')}, 'cluster'],
    [q{CALL shardroute.delete_misplaced_rows('zz')}, 'cluster'],
    [q{SELECT shardroute.fence_shards('zz', 0, 1)}, 'cluster'],
    [q{SELECT shardroute.unfence_shards('zz', 0, 1)}, 'cluster'],
    [q{SELECT shardroute.choose_read_node('zz')}, 'read group'],
    [q{SELECT shardroute.choose_read_node('zz', '0/0')}, 'read group'],
    [q{SELECT shardroute.set_read_weight('zz', 'a', 1)}, 'read group'],
    [q{SELECT shardroute.drop_read_group('zz')}, 'read group']);
for my $case (@unknown) {
    my ($sql, $kind) = @$case;
    my $err = verbose_error($sql);
    like($err, qr/ERROR:  42704: \Q$kind\E "zz" does not exist\nDETAIL:  \Q$known{$kind}\E\nHINT:  \Q$hint{$kind}\E\n/,
        "$sql: 42704, $known{$kind} and the hint");
}

# the same in a PL/pgSQL function and a DO block, with a hostile search_path
$node->safe_psql('postgres', q{
    CREATE SCHEMA evil;
    CREATE FUNCTION evil.array_to_string(anyarray, text) RETURNS text LANGUAGE sql AS $$ SELECT 'evil' $$;
    CREATE FUNCTION caller() RETURNS text LANGUAGE plpgsql AS $$
    BEGIN PERFORM shardroute.assign_shards('c', 'zz', 0, 3); RETURN 'no error'; END $$;
});
for my $sql (q{SET search_path = evil, public, pg_catalog; SELECT caller()},
             q{SET search_path = evil, public, pg_catalog; DO $$ BEGIN PERFORM shardroute.create_read_group('g3', 'zz'); END $$}) {
    like(verbose_error($sql), qr/ERROR:  42704: node "zz" does not exist\nDETAIL:  Known nodes: a, b, s\.\nHINT:  Register it/,
        "$sql: the same error from PL/pgSQL");
}

# a NULL primary for add_standby is not an unknown node
like(verbose_error(q{SELECT shardroute.add_standby('s3', NULL, 'h')}), qr/ERROR:  22004: primary_node must not be NULL/,
    'add_standby(primary_node => NULL): 22004');

# more than 20 known names: the first 20 (sorted bytewise) and a count
$node->safe_psql('postgres', q{SELECT shardroute.add_node('n' || i, 'h') FROM generate_series(10, 39) i});
like(verbose_error(q{SELECT shardroute.conninfo('zz')}),
    qr/DETAIL:  Known nodes: a, b, n10, n11, .*, n27, and 13 more\.\n/, 'C++: 20 names and a count');
like(verbose_error(q{SELECT shardroute.drop_node('zz')}),
    qr/DETAIL:  Known nodes: a, b, n10, n11, .*, n27, and 13 more\.\n/, 'PL/pgSQL: the same 20 names and count');

# a partition database that cannot be reached: 08006 naming the node, and
# libpq's reason as the detail (one line per reason, no trailing newline)
$node->safe_psql('postgres', q{
    SELECT shardroute.alter_node('b', host => '127.0.0.1', port => 1);
    SELECT shardroute.assign_shards('c', 'b', 2, 3);
    SELECT shardroute.plproxy_sync('c');
    CREATE USER MAPPING FOR PUBLIC SERVER c;
    SELECT shardroute.add_sharded_table('c', 'docs', 'id');
});
my $err = verbose_error(q{SELECT * FROM shardroute.misplaced_rows('c')});
like($err, qr/ERROR:  08006: could not connect to the partition database of node "[ab]"\nDETAIL:  (connection to server|could not translate host name) .*?\S\n(CONTEXT|LOCATION):  /s,
    'an unreachable partition: 08006, libpq\'s reason as the detail');
unlike($err, qr/\n\s*\n/, 'no blank line after libpq\'s reason');

# the partition side: fencing a table by a column it does not have, and a key
# column renamed under an active fence
$node->safe_psql('postgres', q{CREATE TABLE docs (id text, body text)});
like(verbose_error(q{SELECT shardroute._fence_local('c', 4, 'siphash24', '{0}', ARRAY['docs'::regclass], ARRAY['nokey'])}),
    qr/ERROR:  42703: table public.docs has no column "nokey"/, '_fence_local with a missing key column: 42703');
$node->safe_psql('postgres', q{
    SELECT shardroute._fence_local('c', 4, 'siphash24', '{0}', ARRAY['docs'::regclass], ARRAY['id']);
    ALTER TABLE docs RENAME id TO doc_id;
});
like(verbose_error(q{INSERT INTO docs VALUES ('k', 'b')}),
    qr/ERROR:  42703: table "docs" has no column "id"\nDETAIL:  Its shardroute_fence trigger hashes that column .*\nHINT:  Rename the column back, or register the new name/,
    'a key column renamed under a fence: 42703 with what to do');

done_testing();
