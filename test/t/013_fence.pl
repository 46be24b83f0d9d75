# Fencing shards, on real servers through the real PL/Proxy: pg1 holds the
# proxy and the partition databases p1 and p2. While shards are fenced, a write
# to them fails at once with SQLSTATE 25006 whatever path it takes (PL/Proxy,
# a PL/pgSQL function, a DO block, COPY, an UPDATE that moves a row into the
# shard), reads go on, other shards are untouched; a transaction that was
# writing when the fence came is waited for and ended, never committed after;
# the fence survives a restart and a dump, and unfence_shards ends it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $pg1 = PostgreSQL::Test::Cluster->new('pg1');
$pg1->init;
$pg1->append_conf('postgresql.conf', 'max_prepared_transactions = 5');
$pg1->start;
my ($host, $port) = ($pg1->host, $pg1->port);

for my $db ('p1', 'p2') {
    $pg1->safe_psql('postgres', "CREATE DATABASE $db");
    $pg1->safe_psql($db, q{
        CREATE EXTENSION shardroute;
        CREATE TABLE docs (doc_id text PRIMARY KEY, body text);
        CREATE FUNCTION insert_doc(doc_id text) RETURNS int LANGUAGE sql AS
            $$ INSERT INTO docs VALUES (doc_id) RETURNING 1 $$;
        CREATE FUNCTION read_doc(doc_id text) RETURNS text LANGUAGE sql AS
            $$ SELECT d.doc_id FROM docs d WHERE d.doc_id = read_doc.doc_id $$;
        CREATE FUNCTION plpgsql_insert(id text) RETURNS void LANGUAGE plpgsql AS
            $$ BEGIN INSERT INTO docs VALUES (id); END $$;
    });
}
$pg1->safe_psql('postgres', 'CREATE DATABASE proxy');
$pg1->safe_psql('proxy', qq{
    CREATE EXTENSION shardroute;
    CREATE EXTENSION plproxy;
    BEGIN;
    SELECT shardroute.add_node('p1', '$host', $port, 'p1');
    SELECT shardroute.add_node('p2', '$host', $port, 'p2');
    SELECT shardroute.create_cluster('c', 64);
    SELECT shardroute.assign_shards('c', 'p1', 0, 31);
    SELECT shardroute.assign_shards('c', 'p2', 32, 63);
    COMMIT;
    SELECT shardroute.plproxy_sync('c');
    CREATE USER MAPPING FOR PUBLIC SERVER c;
    CREATE FUNCTION insert_doc(doc_id text) RETURNS int LANGUAGE plproxy AS \$\$
        CLUSTER 'c'; RUN ON shardroute.hash_string(doc_id, 'siphash24'); \$\$;
    CREATE FUNCTION read_doc(doc_id text) RETURNS text LANGUAGE plproxy AS \$\$
        CLUSTER 'c'; RUN ON shardroute.hash_string(doc_id, 'siphash24'); \$\$;
});

# keys by shard: key($shard) is a document id that hashes to that shard,
# more($shard, $n) the n-th other one
my (%key, %more);
for my $row (split /\n/, $pg1->safe_psql('proxy',
        q{SELECT shardroute.shard_for_key('c', 'doc-' || i), 'doc-' || i FROM generate_series(1, 5000) i ORDER BY i})) {
    my ($s, $k) = split /\|/, $row;
    if (exists $key{$s}) { push @{ $more{$s} }, $k } else { $key{$s} = $k }
}
sub more { my ($s, $n) = @_; return $more{$s}[$n] }
is(scalar(keys %key), 64, 'a key for each of the 64 shards');
$pg1->safe_psql('proxy', "SELECT insert_doc('$key{$_}') FROM (VALUES ($_)) v") for (8, 9, 40);

# refusals
my ($rc, $out, $err) = $pg1->psql('proxy', q{SELECT shardroute.fence_shards('nope', 0, 1)});
like($err, qr/ERROR:  cluster "nope" does not exist/, 'unknown cluster');
($rc, $out, $err) = $pg1->psql('proxy', q{SELECT shardroute.fence_shards('c', 8, 64)});
like($err, qr/shards 8 to 64 are not a range of cluster "c"/, 'a range beyond the shard count');
($rc, $out, $err) = $pg1->psql('proxy', q{SELECT shardroute.fence_shards('c', 8, 15)});
like($err, qr/cluster "c" has no sharded tables/, 'nothing to fence without sharded tables');
$pg1->safe_psql('proxy', q{CREATE ROLE app LOGIN});
($rc, $out, $err) = $pg1->psql('proxy', q{SET ROLE app; SELECT shardroute.fence_shards('c', 8, 15)});
like($err, qr/permission denied for function fence_shards/, 'not executable by PUBLIC');
($rc, $out, $err) = $pg1->psql('p1', q{SET ROLE app; SELECT shardroute._fence_local('c', 64, 'siphash24', '{8}', '{docs}', '{doc_id}')});
like($err, qr/permission denied for function _fence_local/, 'the partition side neither');

$pg1->safe_psql('proxy', q{SELECT shardroute.add_sharded_table('c', 'docs', 'doc_id')});
$pg1->safe_psql('proxy', q{SELECT shardroute.fence_shards('c', 8, 15)});
is($pg1->safe_psql('proxy', q{SELECT cluster, first_shard, last_shard, node FROM shardroute.fences}), 'c|8|15|p1',
    'the fence, on the proxy: shards 8..15 on p1');
is($pg1->safe_psql('p1', q{SELECT string_agg(shard || ':' || kind, ',' ORDER BY shard) FROM shardroute.partition_fence}),
    '8:fenced,9:fenced,10:fenced,11:fenced,12:fenced,13:fenced,14:fenced,15:fenced', 'and on p1 itself');
is($pg1->safe_psql('p2', q{SELECT count(*) FROM shardroute.partition_fence}), '0', 'p2 is not fenced');

# writes to a fenced shard fail at once, by every path
my $fenced = qr/ERROR:  shard 9 of cluster "c" is fenced/;
my $key9b = more(9, 0);
($rc, $out, $err) = $pg1->psql('proxy', "\\set VERBOSITY verbose\nSELECT insert_doc('$key9b')");
like($err, qr/25006.*shard 9 of cluster "c" is fenced/, 'through PL/Proxy: SQLSTATE 25006, naming the fence');
like($err, qr/HINT:  Remote hint: Retry the write/, 'with a hint to retry');
($rc, $out, $err) = $pg1->psql('p1', "SELECT plpgsql_insert('$key9b')");
like($err, $fenced, 'from a PL/pgSQL function');
($rc, $out, $err) = $pg1->psql('p1', "DO \$\$ BEGIN INSERT INTO docs VALUES ('$key9b'); END \$\$");
like($err, $fenced, 'from a DO block');
($rc, $out, $err) = $pg1->psql('p1', "COPY docs (doc_id) FROM PROGRAM 'echo $key9b'");
like($err, $fenced, 'by COPY');
($rc, $out, $err) = $pg1->psql('p1', "UPDATE docs SET body = 'x' WHERE doc_id = '$key{9}'");
like($err, $fenced, 'an UPDATE');
($rc, $out, $err) = $pg1->psql('p1', "DELETE FROM docs WHERE doc_id = '$key{9}'");
like($err, $fenced, 'a DELETE');
($rc, $out, $err) = $pg1->psql('p1', "INSERT INTO docs VALUES ('$key{20}'); UPDATE docs SET doc_id = '$key{10}' WHERE doc_id = '$key{20}'");
like($err, qr/shard 10 of cluster "c" is fenced/, 'an UPDATE that moves a row into a fenced shard');
($rc, $out, $err) = $pg1->psql('p1', "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM docs; "
    . "SELECT pg_sleep(0); INSERT INTO docs VALUES ('$key9b'); COMMIT");
like($err, $fenced, 'in a REPEATABLE READ transaction');
$pg1->safe_psql('p1', q{CREATE ROLE writer LOGIN; GRANT SELECT, INSERT, UPDATE, DELETE ON docs TO writer});
($rc, $out, $err) = $pg1->psql('p1', "SET ROLE writer; INSERT INTO docs VALUES ('$key9b')");
like($err, $fenced, 'as a role that is not superuser');
is($pg1->safe_psql('p1', "SET ROLE writer; INSERT INTO docs VALUES ('${\ more(1, 0) }') RETURNING 1"), '1',
    'which writes other shards');
$pg1->safe_psql('p1', "CREATE SCHEMA evil; GRANT ALL ON SCHEMA evil TO PUBLIC;
    CREATE FUNCTION evil.hash_string(text, text) RETURNS int LANGUAGE sql AS 'SELECT 0';
    CREATE TABLE evil.partition_fence (LIKE shardroute.partition_fence)");
($rc, $out, $err) = $pg1->psql('p1', "SET search_path = evil, public; INSERT INTO docs VALUES ('$key9b')");
like($err, $fenced, 'with search_path on a schema anyone can write');
is($pg1->safe_psql('proxy', "SELECT read_doc('$key{9}')"), $key{9}, 'a fenced shard is still read');
is($pg1->safe_psql('proxy', "SELECT insert_doc('$key{16}') + insert_doc('$key{41}')"), '2',
    'other shards of p1 and p2 take writes');
is($pg1->safe_psql('p1', "SELECT count(*) FROM docs WHERE doc_id = '$key9b'"), '0', 'no fenced write went through');

# survives a restart and a dump
$pg1->restart;
($rc, $out, $err) = $pg1->psql('proxy', "SELECT insert_doc('$key9b')");
like($err, qr/REMOTE ERROR: shard 9 of cluster "c" is fenced/, 'after a restart');
$pg1->safe_psql('postgres', 'CREATE DATABASE p1_restored');
my $dump = $pg1->basedir . '/p1.dump';
command_ok(['pg_dump', '-Fc', '-d', $pg1->connstr('p1'), '-f', $dump], 'pg_dump of p1');
command_ok(['pg_restore', '-d', $pg1->connstr('p1_restored'), $dump], 'pg_restore');
($rc, $out, $err) = $pg1->psql('p1_restored', "INSERT INTO docs VALUES ('$key9b')");
like($err, $fenced, 'in a restored dump');
is($pg1->safe_psql('proxy', q{SELECT count(*) FROM shardroute.shard_fence}), '8', 'the proxy\'s record survives too');

# A transaction writing when the fence comes: waited for, then ended
# (shardroute.fence_timeout), so it never commits after the fence returned.
my $writer = $pg1->background_psql('p1', on_error_stop => 0);
$writer->query_safe("BEGIN; INSERT INTO docs VALUES ('$key{20}-open'); INSERT INTO docs VALUES ('$key{24}')");
my $start = time();
($rc, $out, $err) = $pg1->psql('proxy', q{SET shardroute.fence_timeout = '1s'; SELECT shardroute.fence_shards('c', 16, 31)});
my $took = time() - $start;
is($rc, 0, 'fence_shards returned') or diag($err);
like($err, qr/NOTICE:  fence on node "p1": ended 1 transaction\(s\) still writing after shardroute.fence_timeout/,
    'after ending the open writer');
ok($took >= 1 && $took < 10, "after about fence_timeout ($took s)");
$writer->{stdin} .= "COMMIT;\n";
eval { $writer->quit };
is($pg1->safe_psql('p1', "SELECT count(*) FROM docs WHERE doc_id IN ('$key{20}-open', '$key{24}')"), '0',
    'its writes never committed');
# a writer that ends by itself within the timeout is simply waited for
$writer = $pg1->background_psql('p2');
$writer->query_safe("BEGIN; INSERT INTO docs VALUES ('$key{41}-w')");
my ($fout, $ferr) = ('', '');
my $fence = IPC::Run::start(['psql', '-XAtq', '-d', $pg1->connstr('proxy'), '-c',
    q{SELECT shardroute.fence_shards('c', 40, 47)}], '>', \$fout, '2>', \$ferr);
sleep 1;
$fence->pump_nb;
ok($fence->pumpable, 'fence_shards waits while a transaction is writing p2');
$writer->query_safe('COMMIT');
$writer->quit;
$fence->finish;
is($ferr, '', 'and returns once it committed, ending nobody');
is($pg1->safe_psql('p2', "SELECT count(*) FROM docs WHERE doc_id = '$key{41}-w'"), '1',
    'that write committed before the fence returned');
is($pg1->safe_psql('proxy', q{SELECT string_agg(first_shard || '-' || last_shard || '@' || node, ',' ORDER BY first_shard)
                              FROM shardroute.fences}), '8-31@p1,40-47@p2', 'three fences, as ranges');

# unfence: the owner takes writes again
$pg1->safe_psql('proxy', q{SELECT shardroute.unfence_shards('c', 0, 63)});
is($pg1->safe_psql('proxy', "SELECT insert_doc('$key9b')"), '1', 'after unfence_shards, the shard takes writes');
is($pg1->safe_psql('p1', q{SELECT count(*) FROM shardroute.partition_fence}), '0', 'p1 holds no fence');
is($pg1->safe_psql('proxy', q{SELECT count(*) FROM shardroute.fences}), '0', 'nor the proxy');

# a shard that moved away: its old owner refuses every write (a DELETE there
# would be acknowledged and lost while the proxy still routes to it), except the
# clean-up's (shardroute.fence_cleanup)
my $key9c = more(9, 1);
$pg1->safe_psql('proxy', q{SELECT shardroute.fence_shards('c', 8, 9)});
$pg1->safe_psql('proxy', q{BEGIN; SELECT shardroute.assign_shards('c', 'p2', 8, 9); SELECT shardroute.plproxy_sync('c');
                           SELECT shardroute.unfence_shards('c', 8, 9); COMMIT});
is($pg1->safe_psql('p1', q{SELECT string_agg(shard || ':' || kind, ',' ORDER BY shard) FROM shardroute.partition_fence}),
    '8:moved,9:moved', 'the old owner marks the shards moved');
($rc, $out, $err) = $pg1->psql('p1', "INSERT INTO docs VALUES ('$key9c')");
like($err, qr/shard 9 of cluster "c" has moved to another database/, 'an INSERT there is refused');
($rc, $out, $err) = $pg1->psql('p1', "DELETE FROM docs WHERE doc_id = '$key{9}'");
like($err, qr/shard 9 of cluster "c" has moved to another database/, 'a DELETE too');
($rc, $out, $err) = $pg1->psql('p1', "SET shardroute.fence_cleanup = on; BEGIN; DELETE FROM docs WHERE doc_id = '$key{9}'; ROLLBACK");
is($rc, 0, 'unless shardroute.fence_cleanup is on, as for the clean-up') or diag($err);
is($pg1->safe_psql('proxy', "SELECT insert_doc('$key9c')"), '1', 'through the proxy it reaches the new owner');
is($pg1->safe_psql('p2', "SELECT count(*) FROM docs WHERE doc_id = '$key9c'"), '1', 'which is p2');
($rc, $out, $err) = $pg1->psql('proxy', q{CALL shardroute.delete_misplaced_rows('c')});
is($rc, 0, 'the misplaced rows are deleted on the old owner') or diag($err);
is($pg1->safe_psql('proxy', q{SELECT count(*) FROM shardroute.misplaced_rows('c')}), '0', 'none left');


# A topology change can be prepared (two-phase commit) and committed later:
# its NOTIFY is not queued at PREPARE, which would refuse it.
$pg1->safe_psql('proxy', q{BEGIN; SELECT shardroute.add_node('two_phase', 'h2pc'); PREPARE TRANSACTION 'topology_2pc'});
$pg1->safe_psql('proxy', q{COMMIT PREPARED 'topology_2pc'});
is($pg1->safe_psql('proxy', q{SELECT count(*) FROM shardroute.node WHERE name = 'two_phase'}), '1',
    'a prepared topology change commits');
$pg1->safe_psql('proxy', q{SELECT shardroute.drop_node('two_phase')});

# A fence whose proxy transaction rolled back stays on the partition (it takes
# effect at once); unfence_shards lifts it from the shards' owner all the same.
$pg1->safe_psql('proxy', q{BEGIN; SELECT shardroute.fence_shards('c', 2, 3); ROLLBACK});
is($pg1->safe_psql('p1', q{SELECT string_agg(shard::text, ',') FROM shardroute.partition_fence WHERE kind = 'fenced'}),
    '2,3', 'a rolled-back fence_shards left p1 fenced');
$pg1->safe_psql('proxy', q{SELECT shardroute.unfence_shards('c', 2, 3)});
is($pg1->safe_psql('p1', q{SELECT count(*) FROM shardroute.partition_fence WHERE kind = 'fenced'}), '0',
    'unfence_shards lifts it');

# A prepared transaction that wrote the tables before the fence cannot be
# ended: fence_shards waits fence_timeout for it, then fails naming it (the
# move must not go on), and the shard stays fenced.
$pg1->safe_psql('p1', "BEGIN; INSERT INTO docs VALUES ('${\ more(4, 0) }'); PREPARE TRANSACTION 'writer_2pc'");
($rc, $out, $err) = $pg1->psql('proxy', q{SET shardroute.fence_timeout = '500ms'; SELECT shardroute.fence_shards('c', 4, 5)});
like($err, qr/prepared transactions hold writes to the fenced tables: 'writer_2pc'/, 'a prepared writer fails the fence');
$pg1->safe_psql('p1', "ROLLBACK PREPARED 'writer_2pc'");
$pg1->safe_psql('proxy', q{SELECT shardroute.fence_shards('c', 4, 5)});
is($pg1->safe_psql('proxy', q{SELECT first_shard || '-' || last_shard FROM shardroute.fences WHERE first_shard = 4}), '4-5',
    'once it is resolved, fencing again works');
$pg1->safe_psql('proxy', q{SELECT shardroute.unfence_shards('c', 4, 5)});

# The key as written: a generated column, a key a later trigger fills in, a
# domain over uuid (hashed as its 16 bytes, as shard_for_key(cluster, uuid)),
# a partitioned table whose writer locks only a partition.
$pg1->safe_psql('p1', q{
    CREATE TABLE gdocs (id text, doc_id text GENERATED ALWAYS AS ('doc-' || id) STORED);
    CREATE DOMAIN doc_uuid AS uuid;
    CREATE TABLE udocs (doc_id doc_uuid);
    CREATE TABLE pdocs (doc_id text, part int NOT NULL DEFAULT 0) PARTITION BY LIST (part);
    CREATE TABLE pdocs_0 PARTITION OF pdocs FOR VALUES IN (0);
    CREATE TABLE pdocs_1 PARTITION OF pdocs FOR VALUES IN (1);
});
$pg1->safe_psql('proxy', q{SELECT shardroute.add_sharded_table('c', t, 'doc_id') FROM unnest(ARRAY['gdocs', 'udocs', 'pdocs']) t});
my $uuid = $pg1->safe_psql('proxy', q{SELECT u FROM (SELECT gen_random_uuid() u FROM generate_series(1, 500)) x
                                      WHERE shardroute.shard_for_key('c', u) BETWEEN 10 AND 11 LIMIT 1});
my $gen = $pg1->safe_psql('proxy', q{SELECT i FROM generate_series(1, 5000) i WHERE shardroute.shard_for_key('c', 'doc-' || i) = 10 LIMIT 1});
my $pkey = more(11, 2);
# the first fence of a table adds its trigger (it waits for the table's writers)
$pg1->safe_psql('proxy', q{SELECT shardroute.fence_shards('c', 12, 12); SELECT shardroute.unfence_shards('c', 12, 12)});
# a writer of one partition, holding its lock across the fence
my $pw = $pg1->background_psql('p1', on_error_stop => 0);
$pw->query_safe("PREPARE ins(text) AS INSERT INTO pdocs_0 VALUES (\$1); BEGIN; EXECUTE ins('warm-up')");
$pg1->safe_psql('proxy', q{SET shardroute.fence_timeout = '1s'; SELECT shardroute.fence_shards('c', 10, 11)});
$pw->{stdin} .= "EXECUTE ins('$pkey'); COMMIT;\n";
eval { $pw->quit };
is($pg1->safe_psql('p1', "SELECT count(*) FROM pdocs WHERE doc_id IN ('warm-up', '$pkey')"), '0',
    'a writer holding a partition was ended by the fence: nothing it wrote committed');
for my $case ([qq{INSERT INTO gdocs (id) VALUES ('$gen')}, 'a generated key'],
              [qq{INSERT INTO udocs VALUES ('$uuid')}, 'a domain over uuid'],
              [qq{INSERT INTO pdocs VALUES ('$pkey')}, 'a partitioned table']) {
    ($rc, $out, $err) = $pg1->psql('p1', $case->[0]);
    like($err, qr/shard 1[01] of cluster "c" is fenced/, "$case->[1]: refused");
}
$pg1->safe_psql('proxy', q{SELECT shardroute.unfence_shards('c', 10, 11)});
is($pg1->safe_psql('p1', qq{INSERT INTO udocs VALUES ('$uuid') RETURNING 1}), '1', 'after unfence they are written');

done_testing();
