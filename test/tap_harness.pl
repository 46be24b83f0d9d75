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
print "tap: $passed passed, $failed failed\n";
exit($failed ? 1 : 0);
