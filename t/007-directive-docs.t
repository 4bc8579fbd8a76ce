# docs/directives.md against the source: every directive of the commands
# tables (the ngx_command_t arrays of ngx_csibiz_module/*.c) is documented
# in nginx.org's format (a "### name" section with Syntax, Default and
# Context), none is documented that does not exist; the Context matches the
# NGX_HTTP_*_CONF flags, the Syntax the number of arguments, a documented
# default the one the code sets; the handlers that `csibiz` takes are the
# ones documented; links to directives point at existing sections.  Reads
# files only: no nginx, no backends.

use strict;
use warnings;

use FindBin;
use Test::More;

my $ROOT = "$FindBin::Bin/..";

sub slurp {
    my ($path) = @_;
    open my $fh, '<', $path or die "$path: $!";
    local $/;
    return scalar <$fh>;
}

# ------------------------------------------------------------ the source

my $src = join "\n", map { slurp($_) } sort glob "$ROOT/ngx_csibiz_module/*.[ch]";
(my $code = $src) =~ s{/\*.*?\*/}{}gs;          # comments can't count

# name => { flags => [...], set => 'handler or slot', field => '...' }
my %cmd;
my $tables = 0;
while ($code =~ /ngx_command_t\s+\w+\[\]\s*=\s*\{(.*?)ngx_null_command/gs) {
    my $table = $1;
    $tables++;
    while ($table =~ /\{\s*ngx_string\("([^"]+)"\),\s*([^,]+),\s*(\w+),
                      \s*\w+,\s*(offsetof\([^)]*\)|\w+),\s*[\w&]+\s*\}/gsx)
    {
        my ($name, $flags, $set, $offset) = ($1, $2, $3, $4);
        ok(!$cmd{$name}, "$name: in one commands table once");
        my ($field) = $offset =~ /offsetof\(\s*\w+,\s*(\w+)\s*\)/;
        $cmd{$name} = { flags => [split /\s*\|\s*/, $flags =~ s/\s+//gr],
                        set => $set, field => $field };
    }
}
ok($tables >= 1, "found $tables commands table(s)");
ok(keys %cmd >= 10, scalar(keys %cmd) . ' directives in the source');

my ($htable) = $code =~ /ngx_http_csibiz_handler_t\s+ngx_http_csibiz_handlers
                         \[\]\s*=\s*\{(.*?)ngx_null_string/sx;
# a name has a row per method set: each name once
my %seen;
my @handlers = grep { !$seen{$_}++ }
               ($htable // '') =~ /\{\s*ngx_string\("([^"]+)"\)/g;
ok(@handlers >= 5, scalar(@handlers) . ' handlers in the source');

# the default the code sets for a conf field, as a number or a string
sub code_default {
    my ($field) = @_;
    return undef unless $field;
    if ($code =~ /ngx_conf_(?:init|merge)_\w*value\(\s*[\w>-]+->$field\s*,
                  (?:\s*[\w>-]+->$field\s*,)?\s*([0-9 *]+)\)/x)
    {
        my $v = 1;
        $v *= $_ for split /\s*\*\s*/, $1 =~ s/^\s+|\s+$//gr;
        return $v;
    }
    return $1 if $code =~ /ngx_str_set\(\s*&[\w>-]+->$field\s*,\s*"([^"]*)"/;
    return undef;
}

# a documented value in the unit the slot stores
sub doc_value {
    my ($set, $v) = @_;
    # a flag, by the slot or by a handler of the module's that wraps it
    return { on => 1, off => 0 }->{$v}
        if $set eq 'ngx_conf_set_flag_slot' || $v =~ /^(?:on|off)$/;
    if ($set eq 'ngx_conf_set_sec_slot') {
        my %u = (s => 1, m => 60, h => 3600, d => 86400);
        return undef unless $v =~ /^(\d+)([smhd]?)$/;
        return $1 * $u{ $2 || 's' };
    }
    if ($set eq 'ngx_conf_set_size_slot') {
        my %u = (k => 1024, m => 1024 * 1024);
        return undef unless $v =~ /^(\d+)([kKmM]?)$/;
        return $1 * ($2 ? $u{ lc $2 } : 1);
    }
    return $v;
}

# --------------------------------------------------------------- the docs

my $doc = slurp("$ROOT/docs/directives.md");
my ($dirs) = $doc =~ /^## Directives\s*\n(.*)\z/ms;
ok(defined $dirs, 'docs/directives.md has "## Directives"');

my %doc;
for my $sec (split /^(?=### )/m, $dirs // '') {
    next unless $sec =~ /^### (\S+)\s*\n(.*)/s;
    my ($name, $body) = ($1, $2);
    my %row;
    while ($body =~ /^\|\s*(Syntax|Default|Context):\s*\|\s*(.*?)\s*\|\s*$/mg) {
        $row{$1} = $2;
    }
    $doc{$name} = { %row, body => $body };
}

is_deeply([sort keys %doc], [sort keys %cmd],
          'the documented directives are those of the source')
    or diag explain { undocumented => [grep { !$doc{$_} } sort keys %cmd],
                      not_in_source => [grep { !$cmd{$_} } sort keys %doc] };

my %CONTEXT = (
    NGX_MAIN_CONF      => 'main',
    NGX_HTTP_MAIN_CONF => 'http',
    NGX_HTTP_SRV_CONF  => 'server',
    NGX_HTTP_LOC_CONF  => 'location',
    NGX_HTTP_LIF_CONF  => 'if in location',
    NGX_HTTP_SIF_CONF  => 'if in server',
    NGX_HTTP_UPS_CONF  => 'upstream',
);

for my $name (sort keys %cmd) {
    my $c = $cmd{$name};
    my $d = $doc{$name} or next;

    # Syntax: `name args;` -- `\|` is a table's escaped "|"
    my ($syntax) = ($d->{Syntax} // '') =~ /^`(.*)`$/;
    ok(defined $syntax && $syntax =~ /^\Q$name\E(?:\s|;)/ && $syntax =~ /;$/,
       "$name: Syntax `$name ...;`") or diag($d->{Syntax});
    $syntax //= '';
    (my $args = $syntax) =~ s/^\Q$name\E\s*|;$//g;
    $args =~ s/\\\|/|/g;
    $args =~ s/\[[^\]]*\]//g;                       # optional parameters
    $args =~ s/\s*\|\s*/|/g;                        # on | off is one
    my @args = split ' ', $args;
    my %flags = map { $_ => 1 } @{ $c->{flags} };
    if ($flags{NGX_CONF_FLAG}) {
        is($args, 'on|off', "$name: Syntax on | off for a flag");
    } elsif ($flags{NGX_CONF_TAKE1}) {
        is(scalar @args, 1, "$name: Syntax of one argument (TAKE1)");
    } elsif ($flags{NGX_CONF_1MORE}) {
        ok(@args >= 1, "$name: Syntax of one or more arguments (1MORE)");
    } elsif ($flags{NGX_CONF_NOARGS}) {
        is(scalar @args, 0, "$name: Syntax without arguments (NOARGS)");
    }

    # Context: `http`, `server`, `location`
    my @ctx = ($d->{Context} // '') =~ /`([^`]+)`/g;
    my @want = map { $CONTEXT{$_} } grep { $CONTEXT{$_} } @{ $c->{flags} };
    is_deeply([sort @ctx], [sort @want],
              "$name: Context " . join(', ', @want));

    # Default: — or `name value;`, and then the code's default
    my $def = $d->{Default} // '';
    ok($def eq '—' || $def =~ /^`\Q$name\E .+;`$/,
       "$name: Default — or `$name value;`") or diag($def);
    my ($dv) = $def =~ /^`\Q$name\E (.+);`$/;
    my $cv = code_default($c->{field});
    if (defined $dv && defined $cv) {
        $dv =~ s/^"(.*)"$/$1/;
        is(doc_value($c->{set}, $dv), $cv,
           "$name: Default $dv is the code's ($cv)");
    }
}

# ------------------------------------------------------ handlers, links

my ($hdoc) = ($doc{csibiz}{body} // '') =~ /^Handlers:\s*\n(.*)/ms;
my @doc_handlers;
for my $line (split /\n/, $hdoc // '') {
    last if $line =~ /^#/;
    push @doc_handlers, $line =~ /`(\w+)`/g if $line =~ /^`\w+`(?:,\s*`\w+`)*\s*$/;
}
is_deeply([sort @doc_handlers], [sort @handlers],
          'the handlers of `csibiz` documented are those of the source')
    or diag explain { undocumented => [grep { my $h = $_;
                                              !grep { $_ eq $h } @doc_handlers }
                                       @handlers],
                      not_in_source => [grep { my $h = $_;
                                               !grep { $_ eq $h } @handlers }
                                        @doc_handlers] };

for my $link ($doc =~ /\]\(#([\w-]+)\)/g) {
    ok($doc{$link} || $link =~ /^(?:example-configuration|directives)$/,
       "link #$link names a section");
}

done_testing();
