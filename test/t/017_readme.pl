# The README runs: every ```sql block of README.md, in order, on a fresh
# database, as a user would paste it into psql. A block marked
# ```sql error=XXXXX must fail with that SQLSTATE; one marked ```sql fleet
# needs real partition servers (the TAP tests 004, 013 and 014 run those
# steps) and is only counted.
use strict;
use warnings;
use File::Basename qw(dirname);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $readme = dirname(__FILE__) . '/../../README.md';
open(my $fh, '<', $readme) or die "cannot read $readme: $!";
my (@blocks, $current, $indent, $info);
my $line_no = 0;
while (my $line = <$fh>) {
    $line_no++;
    if (!defined $current && $line =~ /^(\s*)```sql(.*)$/) {
        ($indent, $info, $current) = (length($1), $2, '');
        push @blocks, { line => $line_no, info => $info };
    } elsif (defined $current && $line =~ /^\s*```\s*$/) {
        $blocks[-1]{sql} = $current;
        undef $current;
    } elsif (defined $current) {
        $current .= substr($line, 0, $indent) =~ /^\s*$/ ? substr($line, $indent) : $line;
    }
}
close $fh;
ok(@blocks >= 8, scalar(@blocks) . ' SQL blocks in the README');

my $node = PostgreSQL::Test::Cluster->new('readme');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE readme');

my $fleet = 0;
for my $b (@blocks) {
    my $where = "README.md line $b->{line}";
    if ($b->{info} =~ /\bfleet\b/) {
        $fleet++;
        next;
    }
    my ($rc, $out, $err) = $node->psql('readme', "\\set VERBOSITY verbose\n$b->{sql}", on_error_stop => 1);
    if ($b->{info} =~ /\berror=([0-9A-Z]{5})\b/) {
        my $state = $1;
        like($err, qr/ERROR:  $state:/, "$where fails with SQLSTATE $state");
    } else {
        ok($rc == 0 && $err !~ /ERROR:/, "$where runs") or diag("$b->{sql}\n$err");
    }
}
ok($fleet <= 3, "$fleet blocks need a real fleet (run by the TAP tests 004, 013 and 014)");

done_testing();
