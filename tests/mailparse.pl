#!/usr/bin/perl
# An independent reading of finished messages, for the tests (tests/independent.py drives it):
# Perl's Email::MIME (RFC 2047 via Encode::MIME::Header, addresses via Email::Address::XS),
# which shares no code with Python's email package. Reads messages framed as "<octets>\n<bytes>"
# on standard input; writes one JSON object per message on standard output.
use strict;
use warnings;
use Email::MIME;
use Email::MIME::Header::AddressList;
use Encode qw(decode);
use JSON::PP;

my $json = JSON::PP->new->utf8->canonical;
binmode STDIN;
binmode STDOUT;
$| = 1;

sub mailbox {
    my ($raw) = @_;
    return undef unless defined $raw;
    $raw = decode('UTF-8', $raw, Encode::FB_CROAK) if $raw =~ /[\x80-\xff]/;  # RFC 6532
    my @boxes = Email::MIME::Header::AddressList->from_mime_string($raw)->addresses;
    return [map { [$_->phrase // '', $_->address // ''] } @boxes];
}

sub read_message {
    my $head = <STDIN>;
    return undef unless defined $head;
    chomp $head;
    my $raw = '';
    while (length($raw) < $head) {
        my $n = read(STDIN, $raw, $head - length($raw), length($raw));
        die "short read" unless $n;
    }
    return $raw;
}

while (defined(my $raw = read_message())) {
    my %out;
    eval {
        my $e = Email::MIME->new($raw);
        $out{subject} = $e->header_str('Subject');
        for my $h (qw(From Reply-To To)) {
            my ($v) = $e->header_raw($h);
            $out{lc $h} = mailbox($v);
        }
        # List-Id is `phrase <list-label>`: read the phrase with the same phrase parser
        my ($lid) = $e->header_raw('List-Id');
        if (defined $lid) {
            (my $as_box = $lid) =~ s/<([^<>]*)>\s*$/<list\@$1>/;
            $out{list_id} = mailbox($as_box);
        }
        my @parts;
        $e->walk_parts(sub {
            my ($p) = @_;
            return if $p->subparts;
            push @parts, [scalar $p->content_type, $p->body_str];
        });
        $out{parts} = \@parts;
        1;
    } or do { %out = (error => "$@") };
    print $json->encode(\%out), "\n";
}
