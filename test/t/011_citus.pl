# Citus for real: a coordinator and two workers running Citus 13.2.
# Registration from the catalog (citus_node_name honoured, idempotent, Citus's
# own error on a worker), citus_drift after disable / remove / a port change,
# and lookups inside distributed queries: Citus pushes them down to the
# workers, which must answer as the coordinator does, right after a topology
# change commits and after a worker that was down comes back.
# Without Citus 13.2 the script skips itself, and make test's summary says so.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $plain = PostgreSQL::Test::Cluster->new('citus_plain');
$plain->init;
$plain->start;
my $have = $plain->safe_psql('postgres',
    q{SELECT count(*) FROM pg_available_extension_versions WHERE name = 'citus' AND version LIKE '13.2%'});
if (!$have) {
    $plain->stop;
    plan skip_all => 'Citus 13.2 is not installed';
}

my @nodes;
for my $name (qw(coordinator worker1 worker2)) {
    my $n = PostgreSQL::Test::Cluster->new("citus_$name");
    $n->init;
    # the servers listen on a Unix socket directory: Citus connects to itself through it too
    $n->append_conf('postgresql.conf', "shared_preload_libraries = 'citus'\nmax_prepared_transactions = 20\n"
          . "citus.local_hostname = '" . $n->host . "'\n"
          . "wal_level = logical\nmax_wal_senders = 10\nmax_replication_slots = 10\n");   # Citus's shard copies
    $n->start;
    $n->safe_psql('postgres', 'CREATE EXTENSION citus');
    push @nodes, $n;
}
my ($coord, $w1, $w2) = @nodes;
my $host = $coord->host;

# Citus first, then shardroute: Citus propagates CREATE EXTENSION to every worker it adds.
my $catalog = sprintf(q{
    CREATE EXTENSION shardroute;
    BEGIN;
    SELECT shardroute.add_node('coord', '%s', %d, 'postgres', citus_role => 'coordinator');
    SELECT shardroute.add_node('w1', '%s', %d, 'postgres', citus_role => 'worker');
    SELECT shardroute.add_node('w2', 'no-such-host.invalid', 6543, 'postgres', citus_role => 'worker',
                               citus_node_name => '%s:%d');
    SELECT shardroute.add_node('p1', 'pg1', 5432, 'db1');
    SELECT shardroute.add_node('p2', 'pg2', 5432, 'db2');
    SELECT shardroute.add_standby('p1_standby', 'p1', 'pg1s');
    SELECT shardroute.create_cluster('c', 64);
    SELECT shardroute.assign_shards('c', 'p1', 0, 31);
    SELECT shardroute.assign_shards('c', 'p2', 32, 63);
    SELECT shardroute.create_read_group('g', 'p1');
    SELECT shardroute.set_read_weight('g', 'p1', 1);
    SELECT shardroute.set_read_weight('g', 'p1_standby', 1);
    COMMIT;
}, $host, $coord->port, $host, $w1->port, $host, $w2->port);

# --- the dry run works on a server without Citus -------------------------------
$plain->safe_psql('postgres', $catalog);
is($plain->safe_psql('postgres', q{SELECT string_agg(node || ' ' || action, ', ' ORDER BY node, action)
                                    FROM shardroute.citus_register(dry_run => true)}),
    'citus_topology would create reference table, citus_topology would ship the topology to the workers, '
      . 'coord would set coordinator, w1 would add, w2 would add',
    'dry run without Citus lists every step');
my ($rc, $out, $err) = $plain->psql('postgres', 'SELECT * FROM shardroute.citus_register()');
like($err, qr/Citus is not installed/, 'without Citus, citus_register says so');
$plain->stop;

# --- registration ---------------------------------------------------------------
$coord->safe_psql('postgres', $catalog);
is($coord->safe_psql('postgres', q{SELECT string_agg(node || ' ' || action || ' ' || command, E'\n' ORDER BY ord)
                                    FROM shardroute.citus_register() WITH ORDINALITY r(node, action, command, ord)}),
    join("\n",
        "coord coordinator set SELECT citus_set_coordinator_host('$host', " . $coord->port . ")",
        "w1 added SELECT citus_add_node('$host', " . $w1->port . ")",
        "w2 added SELECT citus_add_node('$host', " . $w2->port . ")",
        "citus_topology reference table created SELECT create_reference_table('shardroute.citus_topology')",
        "citus_topology topology shipped to the workers (version 1) SELECT shardroute._citus_ship(shardroute._catalog_snapshot())"),
    'citus_register sets the coordinator host, adds both workers (w2 by its citus_node_name), ships the topology');
is($coord->safe_psql('postgres', q{SELECT string_agg(nodeport::text || ':' || groupid::text, ',' ORDER BY nodeport)
                                    FROM pg_dist_node}),
    join(',', $coord->port . ':0', sort { $a cmp $b } map { $_->port . ':' . ($_ == $w1 ? 1 : 2) } ($w1, $w2)),
    'pg_dist_node holds the coordinator (group 0) and both workers');
is($coord->safe_psql('postgres', q{SELECT string_agg(action, ', ' ORDER BY ord)
                                    FROM shardroute.citus_register() WITH ORDINALITY r(node, action, command, ord)}),
    'present, present, present, present, topology present on the workers (version 1)',
    'a second citus_register changes nothing');
is($coord->safe_psql('postgres', 'SELECT count(*) FROM shardroute.citus_drift()'), '0', 'no drift after registration');

($rc, $out, $err) = $w1->psql('postgres', 'SELECT * FROM shardroute.citus_register()',
    extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/XX000: operation is not allowed on this node/, "on a worker, Citus's own error and SQLSTATE come through");
($rc, $out, $err) = $w1->psql('postgres', q{SELECT shardroute.add_node('x', 'y')},
    extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/55000: cannot change the shardroute catalog on a Citus worker/, 'a worker refuses catalog changes');

# --- lookups inside distributed queries -----------------------------------------
$coord->safe_psql('postgres', q{
    CREATE TABLE docs (id text PRIMARY KEY);
    SELECT create_distributed_table('docs', 'id');
    INSERT INTO docs SELECT 'doc-' || i FROM generate_series(1, 2000) i;
    CREATE TABLE local_ids AS SELECT id FROM docs;   -- a plain table: its lookups run on the coordinator
});
my $answers = q{
    SELECT md5(string_agg(id || ' ' || shardroute.node_for_key('c', id) || ' ' || shardroute.shard_for_key('c', id)
                          || ' ' || shardroute.node_for_shard('c', shardroute.shard_for_key('c', id)), ',' ORDER BY id))
      FROM %s};
my $plan = $coord->safe_psql('postgres',
    q{EXPLAIN (VERBOSE, COSTS OFF) SELECT id, shardroute.node_for_key('c', id) FROM docs});
like($plan, qr/Task.*Query: SELECT .*shardroute\.node_for_key/s, 'Citus pushes node_for_key down to the workers');
is($coord->safe_psql('postgres', sprintf($answers, 'docs')), $coord->safe_psql('postgres', sprintf($answers, 'local_ids')),
    'node_for_key, shard_for_key and node_for_shard on the workers answer as on the coordinator (2000 keys)');
my $route = q{SELECT md5(string_agg(r.node || ':' || k, ',' ORDER BY k))
                FROM %s d, shardroute.route_keys('c', ARRAY[d.id]) r, unnest(r.keys) k};
is($coord->safe_psql('postgres', sprintf($route, 'docs')), $coord->safe_psql('postgres', sprintf($route, 'local_ids')),
    'route_keys on the workers answers as on the coordinator');
my $chosen = q{SELECT string_agg(DISTINCT n, ',') FROM (SELECT shardroute.choose_read_node('g') || left(id, 0) n FROM %s) s};
like($coord->safe_psql('postgres', sprintf($chosen, 'docs')), qr/^(p1|p1_standby|p1,p1_standby)$/,
    'choose_read_node on the workers picks members of the coordinator\'s read group');
is($coord->safe_psql('postgres', sprintf($chosen, 'docs')), $coord->safe_psql('postgres', sprintf($chosen, 'local_ids')),
    'the same members as on the coordinator');

# The same session throughout: Citus keeps its worker connections, so the
# workers' lookup caches are warm when the topology changes.
my $owners = q{SELECT string_agg(DISTINCT shardroute.node_for_key('c', id), ',') FROM docs;};
is($coord->safe_psql('postgres', join("\n", $owners,
        q{SELECT shardroute.assign_shards('c', 'p2', 0, 31);}, $owners,
        q{SELECT shardroute.assign_shards('c', 'p1', 0, 63);}, $owners)),
    "p1,p2\n\np2\n\np1", 'right after each commit on the coordinator, the workers route with the new owners');
$coord->safe_psql('postgres', q{CREATE EXTENSION dblink});
is($coord->safe_psql('postgres', join("\n", $owners,
        q{SELECT count(*) FROM dblink('dbname=postgres port=} . $coord->port . q{ host=} . $host
          . q{', 'SELECT shardroute.assign_shards(''c'', ''p2'', 32, 63)') AS t(r text);}, $owners)),
    "p1\n1\np1,p2", 'and after a change another session committed');

# A transaction that ran distributed lookups can change the topology and commit
# (the copy is rewritten with DELETE, whose lock does not wait for the lookups'
# reads of the placement in the same distributed transaction).
is($coord->safe_psql('postgres', join("\n",
        q{BEGIN;}, $owners, q{SELECT shardroute.assign_shards('c', 'p2', 0, 63);}, q{COMMIT;}, $owners)),
    "p1,p2\n\np2", 'lookups, then a topology change, in one transaction: it commits and the workers follow');
is($coord->safe_psql('postgres', join("\n",
        q{BEGIN;}, q{SELECT shardroute.assign_shards('c', 'p1', 0, 31);}, q{SET CONSTRAINTS ALL IMMEDIATE;},
        q{SELECT count(*) > 0 FROM docs WHERE shardroute.node_for_key('c', id) = 'p2';}, q{COMMIT;}, $owners)),
    "\nt\np1,p2", 'a change checked early (SET CONSTRAINTS ALL IMMEDIATE), then lookups, then COMMIT');
# With Citus's DDL propagation off (a session setting), the copy still reaches
# every worker and their warm caches still reload.
is($coord->safe_psql('postgres', join("\n", $owners, q{SET citus.enable_ddl_propagation = off;},
        q{SELECT shardroute.assign_shards('c', 'p2', 0, 31);}, q{RESET citus.enable_ddl_propagation;}, $owners)),
    "p1,p2\n\np2", 'with citus.enable_ddl_propagation off, the workers follow the change');

# A worker whose copy differs (restored from an old backup, edited by hand):
# citus_drift says so and citus_register rewrites it.
my $shard = $coord->safe_psql('postgres',
    q{SELECT shardid FROM pg_dist_shard WHERE logicalrelid = 'shardroute.citus_topology'::regclass});
$w1->safe_psql('postgres', qq{SET citus.enable_manual_changes_to_shards = on;
    UPDATE shardroute.citus_topology_$shard SET snapshot = jsonb_set(snapshot, '{shard_range,0,node}', '"p1"')});
like($coord->safe_psql('postgres', q{SELECT string_agg(node || ': ' || detail, '; ') FROM shardroute.citus_drift()}),
    qr/^w1: topology copy differs: version (\d+), coordinator \1$/, 'citus_drift finds a copy edited on a worker');
like($coord->safe_psql('postgres', q{SELECT string_agg(action, ', ') FROM shardroute.citus_register()}),
    qr/topology shipped to the workers/, 'citus_register rewrites it');
is($coord->safe_psql('postgres', 'SELECT count(*) FROM shardroute.citus_drift()'), '0', 'and the drift is gone');
is($coord->safe_psql('postgres', sprintf($answers, 'docs')), $coord->safe_psql('postgres', sprintf($answers, 'local_ids')),
    'every worker routes as the coordinator again');

# --- a worker that is down, then back ---------------------------------------------
$w2->stop;
($rc, $out, $err) = $coord->psql('postgres', q{SELECT shardroute.assign_shards('c', 'p1', 0, 63)},
    extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/08006: cannot ship the shardroute topology to the Citus workers: connection to the remote node/,
    'a topology change fails while an active worker is down, with Citus\'s SQLSTATE');
like($err, qr/HINT:  Bring the worker back/, 'and says what to do');
is($coord->safe_psql('postgres', q{SELECT node || ': ' || split_part(detail, ':', 1) FROM shardroute.citus_drift()}),
    'w2: topology copy unknown', 'citus_drift names the worker it cannot read');
$w2->start;
is($coord->safe_psql('postgres', sprintf($answers, 'docs')), $coord->safe_psql('postgres', sprintf($answers, 'local_ids')),
    'the worker that came back routes as the coordinator');
$coord->safe_psql('postgres', q{SELECT shardroute.assign_shards('c', 'p2', 0, 63)});
is($coord->safe_psql('postgres', $owners), 'p2', 'and follows the next change');

# --- drift: disable, remove, port change ------------------------------------------
$coord->safe_psql('postgres', 'DROP TABLE docs');   # a node with the only placement of a shard cannot be disabled
my $w2_addr = "'$host', " . $w2->port;
$coord->safe_psql('postgres', "SELECT citus_disable_node($w2_addr, synchronous => true)");
is($coord->safe_psql('postgres', q{SELECT string_agg(node || ': ' || detail, '; ') FROM shardroute.citus_drift()}),
    'w2: inactive in Citus', 'citus_drift after citus_disable_node');
$coord->safe_psql('postgres', q{SELECT shardroute.assign_shards('c', 'p1', 0, 63)});
$coord->safe_psql('postgres', "SELECT citus_activate_node($w2_addr)");
is($coord->safe_psql('postgres', q{SELECT string_agg(node || ': ' || detail, '; ') FROM shardroute.citus_drift()}),
    'w2: no copy of the topology', 'an activated worker holds no copy until citus_register');
($rc, $out, $err) = $w2->psql('postgres', q{SELECT shardroute.node_for_key('c', 'k')});
like($err, qr/this Citus worker holds no copy of its coordinator's shardroute topology/,
    'and a lookup there fails instead of answering from a stale copy');
like($coord->safe_psql('postgres', q{SELECT string_agg(node || ' ' || action, ', ') FROM shardroute.citus_register()}),
    qr/w2 topology copy placed/, 'citus_register places a copy on it');
is($w2->safe_psql('postgres', q{SELECT shardroute.node_for_key('c', 'k')}), 'p1', 'which routes as the coordinator');
is($coord->safe_psql('postgres', 'SELECT count(*) FROM shardroute.citus_drift()'), '0', 'no drift left');

$coord->safe_psql('postgres', "SELECT citus_remove_node($w2_addr)");
is($coord->safe_psql('postgres', q{SELECT string_agg(node || ': ' || detail, '; ') FROM shardroute.citus_drift()}),
    'w2: missing in Citus', 'citus_drift after citus_remove_node');
like($coord->safe_psql('postgres', q{SELECT string_agg(node || ' ' || action, ', ') FROM shardroute.citus_register()}),
    qr/w2 added.*w2 no topology copy yet: run citus_register\(\) again/, 'citus_register adds it back');
is($coord->safe_psql('postgres', q{SELECT string_agg(node || ': ' || detail, '; ') FROM shardroute.citus_drift()}),
    'w2: no copy of the topology', 'citus_drift says it has no copy yet');
# Citus's own way works too (it needs a key on citus_topology to copy it)
$coord->safe_psql('postgres', q{SELECT replicate_reference_tables()});
is($coord->safe_psql('postgres', 'SELECT count(*) FROM shardroute.citus_drift()'), '0',
    'replicate_reference_tables() copies the topology to the new worker');
is($w2->safe_psql('postgres', q{SELECT shardroute.node_for_key('c', 'k')}), 'p1', 'and it routes as the coordinator');
is($coord->safe_psql('postgres', 'SELECT count(*) FROM shardroute.citus_drift()'), '0', 'no drift after adding it back');

$coord->safe_psql('postgres', q{SELECT shardroute.alter_node('w1', port => 1)});
like($coord->safe_psql('postgres', q{SELECT string_agg(node || ': ' || detail, '; ') FROM shardroute.citus_drift()}),
    qr/^w1: different port: catalog 1, Citus /, 'citus_drift after a port change in the catalog');

$_->stop for @nodes;
done_testing();
