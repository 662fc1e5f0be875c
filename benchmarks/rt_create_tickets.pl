# Creates N tickets through Request Tracker's own Perl API (RT::Ticket, as RT's web UI and REST do,
# with their transactions and scrips), much faster than one REST call each: the bench's data set.
# Odd tickets are taken in charge (open); one in four of them waits for the customer a while
# (stalled, then open). Prints the first and last ticket ids.
#   RT_SITE_CONFIG=… perl benchmarks/rt_create_tickets.pl N QUEUE
use strict;
use warnings;
use lib '/usr/share/request-tracker5/lib';
use RT -init;

my ($count, $queue) = @ARGV;
die "usage: rt_create_tickets.pl N QUEUE\n" unless $count && $queue;
my $user = RT::CurrentUser->new(RT->SystemUser);
$user->Load('root');
my ($first, $last);
for my $i (1 .. $count) {
    my $ticket = RT::Ticket->new($user);
    my ($id, undef, $msg) = $ticket->Create(Queue => $queue, Subject => "Ticket $i", Priority => 80);
    die "ticket $i: $msg\n" unless $id;
    if ($i % 2) {
        $ticket->SetStatus('open');
        if ($i % 4 == 1) {
            $ticket->SetStatus('stalled');
            $ticket->SetStatus('open');
        }
    }
    $first //= $id;
    $last = $id;
}
print "$first $last\n";
