# PL/Proxy on one server routing with shardroute.hash_string to partitions that
# live on a second server: the layout of a real fleet, where the proxy database
# and the partition databases run on different hosts.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $shards = PostgreSQL::Test::Cluster->new('shards');
$shards->init;
$shards->start;
my $proxy = PostgreSQL::Test::Cluster->new('proxy');
$proxy->init;
$proxy->start;

# two partition databases on the shard server, each able to say who it is
for my $p (0 .. 1) {
    $shards->safe_psql('postgres', "CREATE DATABASE part$p");
    $shards->safe_psql("part$p", 'CREATE TABLE docs (id text PRIMARY KEY)');
    $shards->safe_psql("part$p",
        'CREATE FUNCTION store(id text) RETURNS text LANGUAGE sql AS '
          . q{$$ INSERT INTO docs VALUES (id) RETURNING current_database()::text $$});
}

my $host = $shards->host;
my $port = $shards->port;
$proxy->safe_psql('postgres', qq{
    CREATE EXTENSION shardroute;
    CREATE EXTENSION plproxy;
    CREATE SERVER fleet FOREIGN DATA WRAPPER plproxy
        OPTIONS (p0 'host=$host port=$port dbname=part0', p1 'host=$host port=$port dbname=part1');
    CREATE USER MAPPING FOR PUBLIC SERVER fleet;
    CREATE FUNCTION store(id text) RETURNS text LANGUAGE plproxy AS \$\$
        CLUSTER 'fleet';
        RUN ON shardroute.hash_string(id, 'siphash24');
    \$\$;
});

# 200 documents go through the proxy
my $misrouted = $proxy->safe_psql('postgres', q{
    SELECT count(*) FROM (SELECT 'doc-' || i AS id FROM generate_series(1, 200) i) s
    WHERE store(id) <> 'part' || (shardroute.hash_string(id, 'siphash24') & 1)});
is($misrouted, '0', 'every document stored in the partition hash & 1 names');

# and each partition holds exactly the ids whose hash names it
my $total = 0;
for my $p (0 .. 1) {
    my $ids = $shards->safe_psql("part$p", q{SELECT string_agg(id, ',' ORDER BY id) FROM docs});
    my @ids = split /,/, $ids;
    $total += @ids;
    ok(@ids > 50, "part$p holds a fair share (" . scalar(@ids) . ")");
    my $list = join(',', map { "'$_'" } @ids);
    my $wrong = $proxy->safe_psql('postgres',
        "SELECT count(*) FROM unnest(ARRAY[$list]) id WHERE shardroute.hash_string(id, 'siphash24') & 1 <> $p");
    is($wrong, '0', "part$p holds only its own ids");
}
is($total, 200, 'no document lost or duplicated');

done_testing();
