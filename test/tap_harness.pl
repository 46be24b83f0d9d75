# Runs the TAP tests and prints "tap: N passed, N failed" over every test point;
# a script that dies or plans more tests than it ran counts as one failure.
use strict;
use warnings;
use TAP::Harness;

my $harness = TAP::Harness->new({ verbosity => 0, lib => [@INC], timer => 1 });
my $agg = $harness->runtests(@ARGV);
my $passed = scalar $agg->passed;
my $failed = scalar $agg->failed;
for my $script ($agg->descriptions) {
    my ($parser) = $agg->parsers($script);
    $failed++ if !$parser->failed && ($parser->exit || $parser->has_problems);
}
# A script that skipped itself (plan skip_all: Citus missing) is named in the
# summary line, so a skipped suite is never mistaken for a passed one.
my @skipped = grep { my ($p) = $agg->parsers($_); $p->skip_all } $agg->descriptions;
s{.*/}{} for @skipped;
print "tap: $passed passed, $failed failed", (@skipped ? ", skipped: @skipped" : ""), "\n";
exit($failed ? 1 : 0);
