# Moving a shard database to a new host, as the fleet's runbook does it
# on real servers: pg1 holds the proxy and partitions p1, p2; pg2 becomes a
# streaming standby of pg1, is checked, promoted, and move_node() points p2 at
# it. Then a split: pg2's copy of p1 is promoted to p1b, takes half of p1's
# shards, and the rows each side holds for shards it no longer owns are found
# and deleted from the proxy. Also read_cluster(): the standby cluster only
# while the standby is fresh.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $pg1 = PostgreSQL::Test::Cluster->new('pg1');
$pg1->init(allows_streaming => 1);
$pg1->start;
my ($host, $port1) = ($pg1->host, $pg1->port);

for my $db ('p1', 'p2') {
    $pg1->safe_psql('postgres', "CREATE DATABASE $db");
    $pg1->safe_psql($db, q{
        CREATE EXTENSION shardroute;   -- the partitions hash too (misplaced_rows)
        CREATE TABLE docs (doc_id text PRIMARY KEY);
        CREATE FUNCTION insert_doc(doc_id text) RETURNS int LANGUAGE sql AS
            $$ INSERT INTO docs VALUES (doc_id) RETURNING current_setting('port')::int $$;
        CREATE FUNCTION doc_port(doc_id text) RETURNS int LANGUAGE sql AS $$ SELECT current_setting('port')::int $$;
    });
}
$pg1->safe_psql('postgres', 'CREATE DATABASE proxy');

# pg2: a streaming standby of the whole pg1 instance
$pg1->backup('base');
my $pg2 = PostgreSQL::Test::Cluster->new('pg2');
$pg2->init_from_backup($pg1, 'base', has_streaming => 1);
$pg2->append_conf('postgresql.conf', "primary_conninfo = '" . $pg1->connstr . " application_name=pg2'");
$pg2->start;
my $port2 = $pg2->port;

$pg1->safe_psql('proxy', qq{
    CREATE EXTENSION shardroute;
    CREATE EXTENSION plproxy;
    BEGIN;
    SELECT shardroute.add_node('p1', '$host', $port1, 'p1');
    SELECT shardroute.add_node('p2', '$host', $port1, 'p2');
    SELECT shardroute.add_standby('p1_standby', 'p1', '$host', $port2, 'p1', application_name => 'pg2');
    SELECT shardroute.add_standby('p2_standby', 'p2', '$host', $port2, 'p2', application_name => 'pg2');
    SELECT shardroute.create_cluster('commcarehq', 1024);
    SELECT shardroute.assign_shards('commcarehq', 'p1', 0, 511);
    SELECT shardroute.assign_shards('commcarehq', 'p2', 512, 1023);
    COMMIT;
    SELECT shardroute.plproxy_sync('commcarehq');
    SELECT shardroute.plproxy_sync('commcarehq', for_standbys => true);
    CREATE USER MAPPING FOR PUBLIC SERVER commcarehq;
    CREATE USER MAPPING FOR PUBLIC SERVER commcarehq_standby;
    CREATE FUNCTION insert_doc(doc_id text) RETURNS int LANGUAGE plproxy AS \$\$
        CLUSTER 'commcarehq'; RUN ON shardroute.hash_string(doc_id, 'siphash24'); \$\$;
    CREATE FUNCTION doc_port(doc_id text) RETURNS int LANGUAGE plproxy AS \$\$
        CLUSTER 'commcarehq'; RUN ON shardroute.hash_string(doc_id, 'siphash24'); \$\$;
    CREATE FUNCTION read_port(doc_id text) RETURNS int LANGUAGE plproxy AS \$\$
        CLUSTER shardroute.read_cluster('commcarehq'); RUN ON shardroute.hash_string(doc_id, 'siphash24');
        SELECT current_setting('port')::int; \$\$;
});

is($pg1->safe_psql('proxy', q{SELECT count(insert_doc('doc-' || i)) FROM generate_series(1, 400) i}), '400',
    '400 documents written through the proxy');
my %count;
$count{$_} = $pg1->safe_psql($_, 'SELECT count(*) FROM docs') for ('p1', 'p2');
ok($count{p1} > 100 && $count{p2} > 100, "documents spread over p1 ($count{p1}) and p2 ($count{p2})");
$pg1->wait_for_catchup('pg2', 'replay', $pg1->lsn('insert'));

# read_cluster: the standby cluster only with the GUC on and the standby fresh
my $reads = q{SELECT string_agg(DISTINCT shardroute.read_cluster('commcarehq') || ':' || read_port('doc-' || i), ',')
              FROM generate_series(1, 50) i};
is($pg1->safe_psql('proxy', $reads), "commcarehq:$port1", 'GUC off: reads go to the primary cluster');
is($pg1->safe_psql('proxy', "SET shardroute.read_from_standbys = on; $reads"), "commcarehq_standby:$port2",
    'GUC on, standby fresh: reads go to the standby cluster (pg2)');
$pg2->stop;
ok($pg1->poll_query_until('proxy', "SELECT reason FROM shardroute.standby_status() WHERE node = 'p2_standby'",
        'not connected'), 'stopped standby is not connected');
is($pg1->safe_psql('proxy', "SET shardroute.read_from_standbys = on; $reads"), "commcarehq:$port1",
    'GUC on, standby stopped: reads go to the primary cluster');
$pg2->start;

# step 6 of the runbook: verify replication is up to date, then promote
$pg1->wait_for_catchup('pg2', 'replay', $pg1->lsn('insert'));
ok($pg1->poll_query_until('proxy', "SELECT shardroute.replication_caught_up('p2_standby')"),
    'replication_caught_up before promoting');
$pg2->promote;
$pg2->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()');

# step 8: the configuration, in one transaction
my $before = $pg1->safe_psql('proxy', q{SELECT srvoptions FROM pg_foreign_server WHERE srvname = 'commcarehq'});
$pg1->safe_psql('proxy', "SELECT shardroute.move_node('p2', '$host', $port2)");
my $changed = $pg1->safe_psql('proxy', q{
    SELECT count(*) FROM pg_foreign_server s, unnest(s.srvoptions) WITH ORDINALITY o(opt, n)
    WHERE s.srvname = 'commcarehq' AND opt IS DISTINCT FROM (} . "'$before'" . q{::text[])[n]});
is($changed, '512', "move_node re-synced the 512 partitions of p2 and nothing else");

# proxy calls for p2 keys now reach pg2, p1 keys still pg1
my $ports = $pg1->safe_psql('proxy', q{
    SELECT string_agg(DISTINCT shardroute.node_for_key('commcarehq', 'doc-' || i) || ':' || doc_port('doc-' || i), ','
                      ORDER BY shardroute.node_for_key('commcarehq', 'doc-' || i) || ':' || doc_port('doc-' || i))
    FROM generate_series(1, 400) i});
is($ports, "p1:$port1,p2:$port2", 'p2 keys reach pg2, p1 keys stay on pg1');

# document counts per database are equal before and after the move
is($pg2->safe_psql('p2', 'SELECT count(*) FROM docs'), $count{p2}, 'p2 on pg2 holds every p2 document');
is($pg1->safe_psql('p1', 'SELECT count(*) FROM docs'), $count{p1}, 'p1 unchanged');
# and new writes for p2 land on pg2 only
# (p2 keys only: p1's shards are about to be split onto pg2's copy of p1, which
# must miss no write made after the promotion; stopping those writes is what
# fencing will do)
$pg1->safe_psql('proxy', q{SELECT count(insert_doc('new-' || i)) FROM generate_series(1, 100) i
                           WHERE shardroute.node_for_key('commcarehq', 'new-' || i) = 'p2'});
my $new_p2 = $pg1->safe_psql('proxy',
    q{SELECT count(*) FROM generate_series(1, 100) i WHERE shardroute.node_for_key('commcarehq', 'new-' || i) = 'p2'});
is($pg2->safe_psql('p2', q{SELECT count(*) FROM docs WHERE doc_id LIKE 'new-%'}), $new_p2, 'new p2 writes land on pg2');
is($pg1->safe_psql('p2', q{SELECT count(*) FROM docs WHERE doc_id LIKE 'new-%'}), '0', 'and none on the old p2');

# A split: pg2's copy of database p1 (promoted with the instance) becomes node
# p1b and takes shards 256..511 of p1, in one transaction.
my ($rc, $out, $err) = $pg1->psql('proxy', q{SELECT shardroute.promote_standby('p1_standby', 'p1b')});
like($err, qr/left the READ lists|^$/, 'promote_standby alone is a valid change');
$pg1->safe_psql('proxy', q{
    BEGIN;
    SELECT shardroute.assign_shards('commcarehq', 'p1b', 256, 511);
    SELECT shardroute.plproxy_sync('commcarehq');
    COMMIT;
});
# (the standby cluster needs a standby for every node: p1 and p1b have none now)
is($pg1->safe_psql('proxy', q{SET shardroute.read_from_standbys = on; SELECT shardroute.read_cluster('commcarehq')}), 'commcarehq',
    'reads of the standby cluster fall back to the primary cluster');
is($pg1->safe_psql('proxy', q{SELECT string_agg(name || ':' || coalesce(primary_node, '-'), ',' ORDER BY name)
                              FROM shardroute.node}),
    'p1:-,p1b:-,p2:-,p2_standby:p2', 'p1_standby is now the primary node p1b');
my $split = $pg1->safe_psql('proxy', q{
    SELECT string_agg(DISTINCT shardroute.node_for_key('commcarehq', 'doc-' || i) || ':' || doc_port('doc-' || i), ','
                      ORDER BY shardroute.node_for_key('commcarehq', 'doc-' || i) || ':' || doc_port('doc-' || i))
    FROM generate_series(1, 400) i});
is($split, "p1:$port1,p1b:$port2,p2:$port2", 'after the split, p1b keys reach the promoted copy, p1 keys stay on pg1');
my $p1b = $pg1->safe_psql('proxy', q{SELECT count(*) FROM generate_series(1, 400) i
                                     WHERE shardroute.node_for_key('commcarehq', 'doc-' || i) = 'p1b'});
ok($p1b > 0, "the split moved $p1b of the 400 documents' shards");
is($pg2->safe_psql('p1', q{SELECT count(*) FROM docs}), $count{p1},
    'the copy holds every p1 document: rows of the shards it does not own stay until they are cleaned up');

# Misplaced rows, from the proxy through the cluster's PL/Proxy server
$pg1->safe_psql('proxy', q{SELECT shardroute.add_sharded_table('commcarehq', 'docs', 'doc_id')});
my $written = $pg1->safe_psql('proxy', q{SELECT sum(rows) FROM shardroute.shard_distribution('commcarehq')});
my $misplaced = $pg1->safe_psql('proxy',
    q{SELECT string_agg(DISTINCT node, ',') || ' ' || sum(rows) FROM shardroute.misplaced_rows('commcarehq')});
is($misplaced, "p1,p1b $count{p1}", 'misplaced_rows: p1 and p1b each hold the rows of the other half (all of p1\'s rows, once)');
my $in_half = q{SELECT count(*) FROM docs WHERE (shardroute.hash_string(doc_id, 'siphash24') & 1023) BETWEEN 256 AND 511};
is($pg1->safe_psql('proxy', q{SELECT sum(rows) FROM shardroute.misplaced_rows('commcarehq') WHERE node = 'p1'}),
    $pg1->safe_psql('p1', $in_half), 'on p1: the rows of shards 256..511, counted on pg1 itself');
is($pg1->safe_psql('proxy', q{SELECT count(*) FROM shardroute.misplaced_rows('commcarehq')
                              WHERE shardroute.node_for_shard('commcarehq', shard) = node}), '0',
    'none of them belongs to a shard its node owns');
($rc, $out, $err) = $pg1->psql('proxy', q{CALL shardroute.delete_misplaced_rows('commcarehq', 7)});
is($rc, 0, 'delete_misplaced_rows ran') or diag($err);
like($err, qr/NOTICE:  node p1, table docs: \d+ of \d+ misplaced rows deleted/, 'with a NOTICE per batch');
is($pg1->safe_psql('proxy', q{SELECT count(*) FROM shardroute.misplaced_rows('commcarehq')}), '0',
    'no misplaced row left');
is($pg1->safe_psql('proxy', q{SELECT sum(rows) FROM shardroute.shard_distribution('commcarehq')}),
    $written - $count{p1}, 'exactly the misplaced copies were deleted');
is($pg1->safe_psql('proxy', q{SELECT count(*) FROM generate_series(1, 400) i WHERE doc_port('doc-' || i) IS NULL}), '0',
    'every document is still read through the proxy');
my $everywhere = $pg1->safe_psql('proxy', q{
    SELECT count(*) FROM shardroute.shard_distribution('commcarehq') d
     WHERE shardroute.node_for_shard('commcarehq', d.shard) <> d.node});
is($everywhere, '0', 'every row is on the node that owns its shard');

# A PL/Proxy server that does not match the catalog (a change not synced yet):
# the clean-up refuses rather than reach a node through another's database.
my $before_rows = $pg1->safe_psql('proxy', q{SELECT sum(rows) FROM shardroute.shard_distribution('commcarehq')});
$pg1->safe_psql('proxy', q{SELECT shardroute.assign_shards('commcarehq', 'p1b', 0, 3)});
($rc, $out, $err) = $pg1->psql('proxy', q{CALL shardroute.delete_misplaced_rows('commcarehq')});
like($err, qr/PL\/Proxy server "commcarehq" does not match the catalog/, 'an unsynced server is refused');
$pg1->safe_psql('proxy', q{SELECT shardroute.assign_shards('commcarehq', 'p1', 0, 3)});
is($pg1->safe_psql('proxy', q{SELECT sum(rows) FROM shardroute.shard_distribution('commcarehq')}), $before_rows,
    'and nothing was deleted');
# As PL/Proxy: a role needs USAGE on the server, and connects as itself
$pg1->safe_psql('proxy', q{CREATE ROLE ops LOGIN;
    GRANT EXECUTE ON FUNCTION shardroute.shard_distribution(text, text), shardroute._shard_distribution(text, text),
                              shardroute._partition_counts(text, text, text) TO ops});
($rc, $out, $err) = $pg1->psql('proxy', q{SET ROLE ops; SELECT * FROM shardroute.shard_distribution('commcarehq')});
like($err, qr/permission denied for foreign server "commcarehq"/, 'no USAGE on the server: refused');
$pg1->safe_psql('proxy', q{GRANT USAGE ON FOREIGN SERVER commcarehq TO ops});
($rc, $out, $err) = $pg1->psql('proxy', q{SET ROLE ops; SELECT * FROM shardroute.shard_distribution('commcarehq')});
like($err, qr/role "ops" does not exist|permission denied for table docs/,
    'with USAGE it connects as ops, not as the server\'s superuser');

done_testing();
