package Test::Csibiz;

# Test harness for the csibiz nginx module: data-driven blocks on top of
# Test::Base (see t/lib/README.md), plus plain-Perl helpers to drive nginx,
# an HTTP/1.1 client and the test backends (tools/stack test ...).

use strict;
use warnings;

use Test::Base -base;

use Carp ();
use Cwd ();
use Errno qw(EAGAIN EINTR EWOULDBLOCK);
use File::Basename ();
use File::Path ();
use File::Temp ();
use IO::Select;
use IO::Socket::INET;
use JSON::PP ();
use POSIX ();
use Time::HiRes ();

our @EXPORT = qw(
    run_tests run_blocks block_tests
    repeat_each workers log_level no_backends module_optional own_postgres

    start_nginx stop_nginx reload_nginx nginx_pid worker_pids worker_procs
    nginx_error pid_alive

    http_req http_concurrent http_start http_finish http_abort http_raw

    error_log_mark error_log_since error_log_path

    redis_cmd redis_clients psql psql_value backend_conns
    backend_stop backend_start ensure_backends reset_data

    env_subst repo_root servroot server_port redis_port pg_port pg_conninfo
    pg_app_conninfo pg_ops_conninfo
    stack_env test_file test_slot spare_port wide_port

    background background_wait wait_until json_like
    done_testing note explain BAIL_OUT subtest
);

# Test::Base exports only part of Test::More; these are handy in .t files.
# Test::Base's END runs run_compare() when no plan was declared through
# plan(); a plan() call without arguments sets its flag and does nothing
# else, so done_testing() works.
Test::More->builder->plan();

{
    no warnings 'once';
    *done_testing = \&Test::More::done_testing;
    *note         = \&Test::More::note;
    *explain      = \&Test::More::explain;
    *BAIL_OUT     = \&Test::More::BAIL_OUT;
    *subtest      = \&Test::More::subtest;
}

# ------------------------------------------------------------ settings

my $ROOT = Cwd::abs_path(File::Basename::dirname(Cwd::abs_path(__FILE__))
                         . '/../../..');
# Each .t file has its own name (for its servroot, stack and database)
# and slot (for its ports), so that files can run in parallel (prove -j).
my $FILE = File::Basename::basename($0) =~ s/\.t\z//r;
$FILE =~ s/[^A-Za-z0-9_-]/_/g;
my $SERVROOT  = $ENV{TEST_NGINX_SERVROOT} || "$ROOT/t/servroot-$FILE";
my $NGINX_BIN = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
my $MODULE    = "$ROOT/build/ngx_http_csibiz_module.so";
my $STACK     = "$ROOT/tools/stack";
my $MAIN_PID  = $$;

my $RepeatEach     = 1;
my $Workers        = 1;
my $LogLevel       = 'info';
my $NoBackends     = 0;
my $ModuleOptional = 0;

my $StopTimeout  = 5;       # graceful QUIT, then SIGKILL
my $LogSettle    = 0.05;    # pause before reading a request's log slice
my $BadLogRe     = qr/\[(?:alert|crit|emerg)\]|exited on signal/;

my %Stack;                  # tools/stack test env of this file's stack
my %Shared;                 # ... of the shared stack (its PostgreSQL)
my %SharedEnv;              # the CSIBIZ_TEST_* variables we were given
my $Slot;
my $PinnedPgPort = $ENV{TEST_NGINX_PG_PORT};
my $OwnPostgres = 0;
my $BackendsReady = 0;
my $NginxPid;               # master pid of the nginx we started
my $NginxError = '';

sub repo_root   { $ROOT }
sub servroot    { $SERVROOT }
sub server_port { $ENV{TEST_NGINX_SERVER_PORT} }
sub redis_port  { $ENV{TEST_NGINX_REDIS_PORT} }
sub pg_port     { $ENV{TEST_NGINX_PG_PORT} }
my ($PgAdminConninfo, $PgOpsConninfo);
sub pg_conninfo { $PgAdminConninfo }
sub pg_app_conninfo { $ENV{TEST_NGINX_PG_CONNINFO} }
sub pg_ops_conninfo { $PgOpsConninfo }
sub test_file   { $FILE }
sub test_slot   { $Slot }
sub stack_env   { $Stack{ $_[0] } }
sub error_log_path { "$SERVROOT/logs/error.log" }
sub nginx_error { $NginxError }

sub repeat_each {
    $RepeatEach = shift if @_;
    return $RepeatEach;
}

sub workers {
    $Workers = shift if @_;
    return $Workers;
}

sub log_level {
    $LogLevel = shift if @_;
    return $LogLevel;
}

# File-level: no default csibiz_redis / csibiz_postgres, no fixtures.
sub no_backends {
    $NoBackends = @_ ? shift : 1;
}

# File-level: load the module only if it has been built.
sub module_optional {
    $ModuleOptional = @_ ? shift : 1;
}

# --------------------------------------------------- environment, stack

# Ports.  The shared test stack (tools/stack test: its PostgreSQL cluster
# holds the migrated template database) sits at CSIBIZ_TEST_PORT_BASE
# (default 20000) .. +2.  Each .t file has a slot, its place among
# t/*.t, and the ports BASE+10+4*slot: nginx, +1 its own Redis, +2 its own
# PostgreSQL (own_postgres()), +3 a spare for the file (spare_port()).
# TEST_NGINX_SERVER_PORT, TEST_NGINX_REDIS_PORT and TEST_NGINX_PG_PORT
# still pin a port.
#
# The file's stack (tools/stack test with CSIBIZ_TEST_VAR =
# var/test/t/FILE) has its own Redis, key file and database: a copy of
# the shared cluster's csibiz database, or, with own_postgres(), a cluster
# of its own, for files that stop PostgreSQL.
sub _stack_env_of {
    my (%env) = @_;
    my %out;
    return %out unless -x $STACK;
    my ($rc, $o) = _run_cmd([$STACK, 'test', 'env'], env => \%env,
                            clear => [keys %SharedEnv]);
    return %out if $rc;
    for my $line (split /\n/, $o) {
        my ($k, $v) = split /=/, $line, 2;
        $out{$k} = $v if defined $v;
    }
    return %out;
}

sub _slot {
    opendir my $dh, "$ROOT/t" or return 0;
    my @files = sort map { s/\.t\z//r } grep { /\.t\z/ } readdir $dh;
    for my $i (0 .. $#files) {
        return $i if $files[$i] eq $FILE;
    }
    return scalar @files;              # not a t/*.t file: the next slot
}

sub _init_env {
    for my $k (qw(VAR PG_VAR DB REDIS_PORT PG_PORT PORT PORT_BASE)) {
        $SharedEnv{"CSIBIZ_TEST_$k"} = $ENV{"CSIBIZ_TEST_$k"}
            if defined $ENV{"CSIBIZ_TEST_$k"};
    }
    # a pinned PostgreSQL port is the shared cluster's too (for a file
    # with own_postgres(), that cluster is not used)
    $SharedEnv{CSIBIZ_TEST_PG_PORT} = $PinnedPgPort if $PinnedPgPort;
    %Shared = _stack_env_of(%SharedEnv);
    my $base = $Shared{PORT_BASE} || $ENV{CSIBIZ_TEST_PORT_BASE} || 20000;
    $Slot = _slot();
    my $first = $base + 10 + 4 * $Slot;

    $ENV{TEST_NGINX_SERVER_PORT} ||= $first;
    $ENV{TEST_NGINX_REDIS_PORT}  ||= $first + 1;
    $ENV{TEST_NGINX_SERVROOT} = $SERVROOT;
    $ENV{TEST_NGINX_ROOT}     = $ROOT;
    $ENV{CSIBIZ_TEST_PORT_BASE} = $base;
    $ENV{CSIBIZ_TEST_VAR} = "$ROOT/var/test/t/$FILE";
    $ENV{CSIBIZ_TEST_PORT} = $ENV{TEST_NGINX_SERVER_PORT};
    $ENV{CSIBIZ_TEST_REDIS_PORT} = $ENV{TEST_NGINX_REDIS_PORT};
    _init_pg_env();
}

# The PostgreSQL part of the file's stack, and the stack's view of it all
# (tools/stack test env, with the file's variables, as the ops tools
# called with --env test by the tests see it).
sub _init_pg_env {
    if ($OwnPostgres) {
        delete $ENV{CSIBIZ_TEST_PG_VAR};
        $ENV{CSIBIZ_TEST_DB} = 'csibiz';
        $ENV{CSIBIZ_TEST_PG_PORT} = $PinnedPgPort
            || $ENV{CSIBIZ_TEST_PORT_BASE} + 10 + 4 * $Slot + 2;
    } else {
        $ENV{CSIBIZ_TEST_PG_VAR} = $Shared{CSIBIZ_VAR}
            || "$ROOT/var/test";
        $ENV{CSIBIZ_TEST_DB} = lc "csibiz_t_$FILE" =~ s/[^a-z0-9_]/_/gir;
        $ENV{CSIBIZ_TEST_PG_PORT} = $PinnedPgPort
            || $Shared{PG_PORT} || $ENV{CSIBIZ_TEST_PORT_BASE};
    }
    %Stack = _stack_env_of(map { $_ => $ENV{$_} } grep { /^CSIBIZ_TEST_/ }
                           keys %ENV);
    my $pg = $ENV{CSIBIZ_TEST_PG_PORT};
    $ENV{TEST_NGINX_PG_PORT} = $pg;
    # nginx logs in as the application role, the ops tools as the ops
    # role; the tests' own look-ups (psql) as the superuser
    my $db = "hostaddr=127.0.0.1 port=$pg dbname=$ENV{CSIBIZ_TEST_DB}";
    $PgAdminConninfo = $Stack{PG_CONNINFO} || "$db user=csibiz";
    $ENV{TEST_NGINX_PG_CONNINFO} = $Stack{PG_APP_CONNINFO}
        || "$db user=csibiz_app_login";
    $PgOpsConninfo = $Stack{PG_OPS_CONNINFO} || "$db user=csibiz_ops_login";
    $ENV{TEST_NGINX_SECRET_KEY} = $Stack{SECRET_KEY}
        || "$ENV{CSIBIZ_TEST_VAR}/secret.key";
}

_init_env();

# File-level: a PostgreSQL cluster of the file's own instead of a database
# in the shared one, for files that stop PostgreSQL (backend_stop).
sub own_postgres {
    Carp::croak("own_postgres() must come before anything that starts the"
                . " backends") if $BackendsReady;
    $OwnPostgres = @_ ? shift : 1;
    _init_pg_env();
}

# The file's spare port (for a server of its own, e.g. a foreign Redis).
sub spare_port {
    return $ENV{CSIBIZ_TEST_PORT_BASE} + 10 + 4 * $Slot + 3;
}

# A file that runs many servers (a replicated stack: primary, standby,
# Redis master, replica, Sentinels, more nginx nodes) takes them from its
# wide slot: BASE+400+16*slot .. +15, clear of the narrow slots and
# below the next checkout's base (BASE+2000).
sub wide_port {
    my ($i) = @_;
    Carp::croak("wide_port: 0..15, not $i") unless $i >= 0 && $i < 16;
    return $ENV{CSIBIZ_TEST_PORT_BASE} + 400 + 16 * $Slot + $i;
}

sub _stack {
    my @args = @_;
    Carp::croak("$STACK not found (it is part of the tree: tools/stack)")
        unless -x $STACK;
    my ($rc, $out) = _run_cmd([$STACK, 'test', @args], merge => 1);
    Carp::croak("tools/stack test @args failed (exit $rc):\n$out") if $rc;
    return $out;
}

# tools/stack test with the variables we were given: the shared stack.
sub _shared_stack {
    my @args = @_;
    my ($rc, $out) = _run_cmd([$STACK, 'test', @args], merge => 1,
                              env => \%SharedEnv,
                              clear => [grep { /^CSIBIZ_TEST_/ } keys %ENV]);
    Carp::croak("tools/stack test @args (the shared stack) failed"
                . " (exit $rc):\n$out") if $rc;
    return $out;
}

# The file's backends up, its data reset: once per process (i.e. per .t
# file).  The shared cluster is started (and migrated) if need be, the
# file's database copied from it.
sub ensure_backends {
    return 1 if $BackendsReady;
    _shared_stack('start-backends') unless $OwnPostgres;
    # a start that fails half-way (a migration refused) leaves nothing
    # running behind it
    unless (eval { _stack('start-backends'); _stack('reset'); 1 }) {
        my $err = $@;
        eval { _stack('stop') };
        die $err;
    }
    $BackendsReady = 1;
    return 1;
}

sub reset_data {
    ensure_backends();
    _stack('reset');
}

my %BackendCmd = (
    redis    => 'redis',
    postgres => 'pg',
    pg       => 'pg',
);

sub _backend_names {
    my @names = @_ ? @_ : ('redis', 'postgres');
    return map {
        my $n = $BackendCmd{$_}
            or Carp::croak("unknown backend '$_' (redis or postgres)");
        $n;
    } @names;
}

sub backend_stop {
    ensure_backends();
    for my $n (_backend_names(@_)) {
        Carp::croak("backend_stop('postgres'): the PostgreSQL cluster is"
                    . " shared; declare own_postgres() first")
            if $n eq 'pg' && !$OwnPostgres;
        _stack("$n-stop");
    }
    return 1;
}

sub backend_start {
    for my $n (_backend_names(@_)) {
        _stack("$n-start");
    }
    return 1;
}

# $TEST_NGINX_FOO -> $ENV{TEST_NGINX_FOO}; an unknown name is an error.
sub env_subst {
    my ($text) = @_;
    return $text unless defined $text;
    $text =~ s{\$(TEST_NGINX_[A-Za-z0-9_]+)}{
        defined $ENV{$1} ? $ENV{$1}
            : Carp::croak("\$$1 is used but not set in the environment")
    }ge;
    return $text;
}

# ------------------------------------------------------ small utilities

# _run_cmd([cmd, args...], merge => 1, env => {...}, clear => [names])
# -> (exit code, stdout, stderr).  Output goes through files: a daemon that inherits
# them cannot hold up the caller.
sub _run_cmd {
    my ($cmd, %o) = @_;
    my $out = File::Temp->new;
    my $err = File::Temp->new;
    my $pid = fork;
    Carp::croak("fork: $!") unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>&', $out or POSIX::_exit(126);
        open STDERR, '>&', ($o{merge} ? $out : $err) or POSIX::_exit(126);
        delete @ENV{ @{ $o{clear} } } if $o{clear};
        @ENV{keys %{ $o{env} }} = values %{ $o{env} } if $o{env};
        { exec { $cmd->[0] } @$cmd; }
        print STDERR "exec $cmd->[0]: $!\n";
        POSIX::_exit(127);
    }
    1 while waitpid($pid, 0) == -1 && $! == EINTR;
    my $status = $?;
    my $rc = $status & 127 ? 128 + ($status & 127) : $status >> 8;
    return ($rc, _slurp("$out"), _slurp("$err"));
}

sub _slurp {
    my ($file, $offset) = @_;
    open my $fh, '<:raw', $file or return '';
    seek $fh, $offset, 0 if $offset;
    local $/;
    my $data = <$fh>;
    return defined $data ? $data : '';
}

sub _spew {
    my ($file, $data) = @_;
    open my $fh, '>:raw', $file or Carp::croak("$file: $!");
    print {$fh} $data;
    close $fh or Carp::croak("$file: $!");
}

# A pid is alive if it exists and is not a zombie (a daemonised nginx is
# reparented to whatever reaps, or fails to reap, orphans).
sub pid_alive {
    my ($pid) = @_;
    return 0 unless $pid && $pid =~ /^\d+$/;
    open my $fh, '<', "/proc/$pid/stat" or return 0;
    my $stat = <$fh>;
    return 0 unless defined $stat;
    return $stat =~ /^\d+ \(.*\) (\S)/s && $1 ne 'Z' && $1 ne 'X' ? 1 : 0;
}

# wait_until(sub {...}, timeout => S, interval => S): true once the sub
# returns true, false on timeout.
sub wait_until {
    my ($cond, %o) = @_;
    my $deadline = Time::HiRes::time() + ($o{timeout} // 5);
    my $interval = $o{interval} // 0.02;
    while (1) {
        return 1 if $cond->();
        return 0 if Time::HiRes::time() >= $deadline;
        Time::HiRes::sleep($interval);
    }
}

# Is something listening on 127.0.0.1:PORT (without connecting to it)?
# Whether nginx could bind the port now (SO_REUSEADDR, as nginx): not if
# another program's connection holds it in TIME-WAIT.
sub _port_bindable {
    my ($port) = @_;
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                  LocalPort => $port, Proto => 'tcp',
                                  ReuseAddr => 1, Listen => 1);
    return 0 unless $s;
    close $s;
    return 1;
}

sub _port_listening {
    my ($port) = @_;
    my $want = sprintf '0100007F:%04X', $port;
    my $any  = sprintf '00000000:%04X', $port;
    open my $fh, '<', '/proc/net/tcp' or return _port_connects($port);
    while (my $line = <$fh>) {
        my @f = split ' ', $line;
        next unless @f > 3;
        return 1 if ($f[1] eq $want || $f[1] eq $any) && $f[3] eq '0A';
    }
    return 0;
}

sub _port_connects {
    my ($port) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 1);
    return $s ? 1 : 0;
}

# background(sub { ... }) forks; the child runs the sub and its return
# value (anything JSON can carry) comes back from background_wait($bg).
# The child must not emit TAP (no ok() etc.).
sub background {
    my ($code) = @_;
    my $file = File::Temp->new;
    my $pid = fork;
    Carp::croak("fork: $!") unless defined $pid;
    if ($pid == 0) {
        $SIG{INT} = $SIG{TERM} = 'DEFAULT';
        my $res = eval { { ok => 1, value => scalar $code->() } };
        $res = { ok => 0, error => "$@" } unless $res;
        eval { _spew("$file", JSON::PP->new->allow_nonref->allow_blessed
                                       ->encode($res)) };
        POSIX::_exit(0);
    }
    return { pid => $pid, file => $file };
}

sub background_wait {
    my ($bg, %o) = @_;
    my $deadline = Time::HiRes::time() + ($o{timeout} // 60);
    while (1) {
        my $r = waitpid($bg->{pid}, POSIX::WNOHANG());
        last if $r == $bg->{pid} || $r == -1;
        if (Time::HiRes::time() >= $deadline) {
            kill 'KILL', $bg->{pid};
            waitpid($bg->{pid}, 0);
            Carp::croak("background child $bg->{pid} did not finish in time");
        }
        Time::HiRes::sleep(0.01);
    }
    my $data = _slurp("$bg->{file}");
    my $res = eval { JSON::PP->new->allow_nonref->decode($data) };
    Carp::croak("background child $bg->{pid} left no result") unless $res;
    Carp::croak("background child died: $res->{error}") unless $res->{ok};
    return $res->{value};
}

# ----------------------------------------------------------------- nginx

sub nginx_pid {
    return $NginxPid if $NginxPid && pid_alive($NginxPid);
    my $pid = _slurp("$SERVROOT/logs/nginx.pid");
    $pid =~ s/\s+//g;
    return $pid if $pid =~ /^\d+$/ && pid_alive($pid) && _is_nginx($pid);
    return undef;
}

sub _is_nginx {
    my ($pid) = @_;
    my $comm = _slurp("/proc/$pid/comm");
    return $comm =~ /^nginx/;
}

# The children of the master: ([pid, title], ...).
sub worker_procs {
    my $master = shift // nginx_pid() // return ();
    my @procs;
    opendir my $dh, '/proc' or return ();
    for my $pid (grep { /^\d+$/ } readdir $dh) {
        my $stat = _slurp("/proc/$pid/stat");
        next unless $stat =~ /^\d+ \(.*\) (\S) (\d+)/s;
        next if $1 eq 'Z' || $2 != $master;
        (my $title = _slurp("/proc/$pid/cmdline")) =~ s/\0+/ /g;
        $title =~ s/\s+\z//;
        push @procs, [$pid, $title];
    }
    my @sorted = sort { $a->[0] <=> $b->[0] } @procs;
    return @sorted;
}

# Worker pids of the running master; with `all => 1` also those shutting
# down after a reload.
sub worker_pids {
    my (%o) = @_;
    return map { $_->[0] }
           grep { $_->[1] =~ /worker process/
                  && ($o{all} || $_->[1] !~ /shutting down/) }
           worker_procs($o{master});
}

sub _nginx_cmd {
    return ($NGINX_BIN, '-p', "$SERVROOT/", '-c', 'conf/nginx.conf',
            '-e', 'logs/error.log', @_);
}

sub _build_conf {
    my (%o) = @_;

    my $main = $o{main_config} // '';
    my $http = $o{http_config} // '';
    my $srv  = $o{config} // '';
    my $workers = $o{workers} // $Workers;
    my $connections = $o{worker_connections} // 1024;
    my $level = $o{log_level} // $LogLevel;
    my $backends = !($o{no_backends} // $NoBackends);

    if ($backends) {
        $http = "csibiz_redis 127.0.0.1:\$TEST_NGINX_REDIS_PORT;\n$http"
            unless $http =~ /\bcsibiz_redis\b/;
        $http = "csibiz_postgres \"\$TEST_NGINX_PG_CONNINFO\";\n$http"
            unless $http =~ /\bcsibiz_postgres\b/;
    }

    my $load = '';
    unless ($o{no_module}) {
        if (-f $MODULE) {
            $load = "load_module $MODULE;\n";
        } elsif (!$ModuleOptional) {
            Carp::croak("$MODULE is missing: run `make build` first");
        }
    }

    my $user = ($> == 0 && $main !~ /^\s*user\s/m) ? "user root;\n" : '';

    for ($main, $http, $srv) {
        $_ = env_subst($_);
        s/^(?=.)/        /mg;
    }
    $main =~ s/^ {8}//mg;
    $http =~ s/^ {4}//mg;

    my $port = server_port();
    my $title = $o{title} // 'custom test';
    return <<"EOF";
# Written by Test::Csibiz for: $title
${load}${user}daemon on;
master_process on;
worker_processes $workers;
error_log logs/error.log $level;
pid logs/nginx.pid;

$main
events {
    worker_connections $connections;
}

http {
    client_body_temp_path $SERVROOT/client_body_temp;
    proxy_temp_path $SERVROOT/proxy_temp;
    fastcgi_temp_path $SERVROOT/fastcgi_temp;
    uwsgi_temp_path $SERVROOT/uwsgi_temp;
    scgi_temp_path $SERVROOT/scgi_temp;

    access_log logs/access.log;
    default_type text/plain;
    keepalive_timeout 68;

$http
    server {
        listen 127.0.0.1:$port;
        server_name localhost;

$srv
    }
}
EOF
}

# A fresh servroot with conf/nginx.conf; the old nginx must be gone.
sub _prepare_servroot {
    my ($conf) = @_;
    Carp::croak("refusing to wipe $SERVROOT") unless $SERVROOT =~ /servroot/;
    File::Path::remove_tree($SERVROOT);
    File::Path::make_path("$SERVROOT/conf", "$SERVROOT/logs",
                          "$SERVROOT/html");
    _spew("$SERVROOT/conf/nginx.conf", $conf);
}

sub _config_test {
    my ($rc, $out, $err) = _nginx_cmd_run('-t');
    return ($rc, $out . $err);
}

sub _nginx_cmd_run {
    return _run_cmd([_nginx_cmd(@_)]);
}

# (ok, error text).  Stops a previous nginx first.
sub _start_nginx {
    my (%o) = @_;
    stop_nginx();
    $NginxError = '';

    ensure_backends() unless $o{no_backends} // $NoBackends;

    my $conf = eval { _build_conf(%o) };
    return (0, $NginxError = $@) unless defined $conf;
    _prepare_servroot($conf);

    my ($rc, $out) = _config_test();
    return (0, $NginxError = "nginx -t failed:\n$out") if $rc;

    my $port = server_port();
    if (_port_listening($port)) {
        return (0, $NginxError = "port $port is in use by another process");
    }

    # The port may be held in TIME-WAIT by another program's connection
    # (the kernel hands ports of our range out as ephemeral ones): free
    # within 60 s, so nginx is started again until then.
    # nginx's own retries would log [emerg]: wait here first
    wait_until(sub { _port_bindable($port) }, timeout => 90,
               interval => 0.5);
    my ($src, $sout, $serr);
    my $until = time + 90;
    while (1) {
        ($src, $sout, $serr) = _nginx_cmd_run();
        last unless $src && "$sout$serr" =~ /bind\(\) to \S+ failed \(98:/
                    && time < $until && !_port_listening($port);
        # the failed try's [emerg] lines are not the test's
        truncate(error_log_path(), 0);
        sleep 2;
    }
    if ($src) {
        my $log = _slurp(error_log_path());
        return (0, $NginxError = "nginx did not start (exit $src):\n"
                                 . "$sout$serr$log");
    }

    my $pid;
    wait_until(sub { $pid = nginx_pid() }, timeout => 30)
        or return (0, $NginxError = "nginx wrote no pid file:\n"
                                    . _slurp(error_log_path()));
    $NginxPid = $pid;

    wait_until(sub { _port_listening($port) }, timeout => 30)
        or return (0, $NginxError = "nginx is not listening on $port:\n"
                                    . _slurp(error_log_path()));

    my $want = $o{workers} // $Workers;
    wait_until(sub { worker_pids() >= $want }, timeout => 30)
        or return (0, $NginxError = "nginx workers did not start:\n"
                                    . _slurp(error_log_path()));
    return (1, '');
}

# start_nginx(config => ..., http_config => ..., main_config => ...,
# workers => N, log_level => L, no_backends => 1, no_module => 1).
# Dies with nginx's output if it does not start.
sub start_nginx {
    my (%o) = @_;
    my ($ok, $err) = _start_nginx(%o);
    Carp::croak($err) unless $ok;
    return $NginxPid;
}

# Graceful stop (QUIT), SIGKILL after a timeout.  Returns true if nginx
# exited by itself (or was not running).
sub stop_nginx {
    my (%o) = @_;
    my $pid = nginx_pid();
    undef $NginxPid;
    return 1 unless $pid;

    my @children = map { $_->[0] } worker_procs($pid);
    kill 'QUIT', $pid;
    my $timeout = $o{timeout} // $StopTimeout;
    my $graceful = wait_until(sub {
        !pid_alive($pid) && !grep { pid_alive($_) } @children
    }, timeout => $timeout, interval => 0.01);

    unless ($graceful) {
        Test::More::diag("nginx (pid $pid) did not quit within ${timeout}s;"
                         . " killing it");
        kill 'KILL', $pid, grep { pid_alive($_) } @children;
        wait_until(sub { !pid_alive($pid) }, timeout => 5);
    }
    my $port = server_port();
    wait_until(sub { !_port_listening($port) }, timeout => 30);
    return $graceful;
}

# kill -HUP; with wait => 1 also waits for a new set of workers.
sub reload_nginx {
    my (%o) = @_;
    my $pid = nginx_pid() or Carp::croak("nginx is not running");
    my %old = map { $_ => 1 } worker_pids(all => 1);
    kill 'HUP', $pid or Carp::croak("kill -HUP $pid: $!");
    if ($o{wait}) {
        wait_until(sub { grep { !$old{$_} } worker_pids() },
                   timeout => $o{timeout} // 5)
            or Carp::croak("no new workers after the reload");
    }
    return 1;
}

sub error_log_mark {
    return -s error_log_path() || 0;
}

sub error_log_since {
    my ($mark) = @_;
    $mark //= 0;
    $mark = 0 if $mark > (-s error_log_path() || 0);
    return _slurp(error_log_path(), $mark);
}

# ----------------------------------------------------------- HTTP client

sub _header_pairs {
    my ($h) = @_;
    return () unless $h;
    return map { [$_, $h->{$_}] } sort keys %$h if ref $h eq 'HASH';
    my @list = @$h;
    my @pairs;
    push @pairs, [splice(@list, 0, 2)] while @list;
    return @pairs;
}

sub _build_request {
    my (%a) = @_;
    if (defined $a{raw}) {
        my $raw = $a{raw};
        utf8::encode($raw) if utf8::is_utf8($raw);
        return $raw;
    }
    my $method = uc($a{method} // 'GET');
    my $path = $a{path} // '/';
    my $proto = $a{protocol} // 'HTTP/1.1';
    my $body = $a{body};
    utf8::encode($body) if defined $body && utf8::is_utf8($body);

    my @hdrs = _header_pairs($a{headers});
    my %have = map { lc $_->[0] => 1 } @hdrs;
    unshift @hdrs, ['Host', 'localhost'] unless $have{host};
    push @hdrs, ['Connection', 'close'] unless $have{connection};
    push @hdrs, ['Content-Length', length $body]
        if defined $body && !$have{'content-length'}
           && !$have{'transfer-encoding'};

    my $req = "$method $path $proto\r\n";
    for my $h (@hdrs) {
        next unless defined $h->[1];           # undef drops a default
        my $v = $h->[1];
        utf8::encode($v) if utf8::is_utf8($v);
        $req .= "$h->[0]: $v\r\n";
    }
    $req .= "\r\n";
    $req .= $body if defined $body;
    return $req;
}

# A request in flight: a hash with the socket, buffers and the result.
sub _req_open {
    my (%a) = @_;
    my $r = {
        method  => uc($a{method} // 'GET'),
        path    => $a{path} // '/',
        timeout => $a{timeout} // 10,
        wbuf    => _build_request(%a),
        rbuf    => '',
        done    => 0,
        result  => { status => undef, headers => {}, header_list => [],
                     body => undef, json => undef, error => undef },
    };
    $r->{start} = Time::HiRes::time();
    $r->{deadline} = $r->{start} + $r->{timeout};
    my $sock = IO::Socket::INET->new(
        PeerAddr => $a{host} // '127.0.0.1',
        PeerPort => $a{port} // server_port(),
        Proto    => 'tcp',
        Timeout  => $r->{timeout},
    );
    unless ($sock) {
        _req_fail($r, "connect: $@");
        return $r;
    }
    $sock->blocking(0);
    binmode $sock;
    $r->{sock} = $sock;
    return $r;
}

sub _req_fail {
    my ($r, $err) = @_;
    $r->{result}{error} //= $err;
    _req_done($r);
}

sub _req_done {
    my ($r) = @_;
    return if $r->{done};
    $r->{done} = 1;
    $r->{finish} = Time::HiRes::time();
    close $r->{sock} if $r->{sock};
    delete $r->{sock};
    my $res = $r->{result};
    $res->{start}   = $r->{start};
    $res->{finish}  = $r->{finish};
    $res->{elapsed} = $r->{finish} - $r->{start};
    $res->{raw}     = $r->{rbuf};
    $res->{request} = "$r->{method} $r->{path}";
}

# Parses what has arrived; marks the request done once the response is
# complete.
sub _req_parse {
    my ($r, $eof) = @_;
    return if $r->{done};
    my $res = $r->{result};

    while (!$r->{hdr_len}) {
        my $end = index($r->{rbuf}, "\r\n\r\n");
        if ($end < 0) {
            if ($eof) {
                _req_fail($r, length $r->{rbuf}
                    ? "incomplete response header"
                    : "connection closed without a response");
            }
            return;
        }
        my $head = substr($r->{rbuf}, 0, $end);
        my ($status_line, @lines) = split /\r\n/, $head;
        unless ($status_line =~ m{^HTTP/\d\.\d\s+(\d{3})\s*(.*)$}) {
            _req_fail($r, "bad status line: $status_line");
            return;
        }
        my ($status, $reason) = ($1, $2);
        if ($status >= 100 && $status < 200 && $status != 101) {
            substr($r->{rbuf}, 0, $end + 4) = '';      # interim response
            next;
        }
        $res->{status} = $status + 0;
        $res->{reason} = $reason;
        for my $line (@lines) {
            my ($n, $v) = $line =~ /^([^:]+):\s*(.*?)\s*$/ or next;
            push @{ $res->{header_list} }, [$n, $v];
            my $k = lc $n;
            $res->{headers}{$k} = defined $res->{headers}{$k}
                ? "$res->{headers}{$k}, $v" : $v;
        }
        $r->{hdr_len} = $end + 4;
    }

    my $body = substr($r->{rbuf}, $r->{hdr_len});
    my $h = $res->{headers};
    my $status = $res->{status};

    if ($r->{method} eq 'HEAD' || $status == 204 || $status == 304) {
        $res->{body} = '';
        return _req_done($r);
    }

    if (($h->{'transfer-encoding'} // '') =~ /chunked/i) {
        my ($decoded, $complete) = _dechunk($body);
        if ($complete) {
            $res->{body} = $decoded;
            return _req_done($r);
        }
        if ($eof) {
            $res->{body} = $decoded;
            _req_fail($r, "connection closed inside a chunked body");
        }
        return;
    }

    if (defined $h->{'content-length'}) {
        my $len = $h->{'content-length'};
        if (length($body) >= $len) {
            $res->{body} = substr($body, 0, $len);
            return _req_done($r);
        }
        if ($eof) {
            $res->{body} = $body;
            _req_fail($r, "connection closed after " . length($body)
                          . " of $len body bytes");
        }
        return;
    }

    if ($eof) {                                 # body until close
        $res->{body} = $body;
        _req_done($r);
    }
}

# (decoded, complete)
sub _dechunk {
    my ($buf) = @_;
    my $out = '';
    my $pos = 0;
    while (1) {
        my $eol = index($buf, "\r\n", $pos);
        return ($out, 0) if $eol < 0;
        my ($size) = substr($buf, $pos, $eol - $pos) =~ /^([0-9a-fA-F]+)/;
        return ($out, 0) unless defined $size;
        $size = hex $size;
        $pos = $eol + 2;
        if ($size == 0) {
            # trailers end with an empty line
            return ($out, index($buf, "\r\n", $pos) >= 0 ? 1 : 0);
        }
        return ($out, 0) if length($buf) < $pos + $size + 2;
        $out .= substr($buf, $pos, $size);
        $pos += $size + 2;
    }
}

sub _req_io {
    my ($r, $can_write, $can_read) = @_;
    return if $r->{done};
    if ($can_write && length $r->{wbuf}) {
        my $n = syswrite($r->{sock}, $r->{wbuf});
        if (defined $n) {
            substr($r->{wbuf}, 0, $n) = '';
        } elsif ($! != EAGAIN && $! != EWOULDBLOCK && $! != EINTR) {
            # the server may have answered and closed: read what it sent
            $r->{wbuf} = '';
            $r->{write_error} = "$!";
            $can_read = 1;
        }
    }
    if ($can_read) {
        while (1) {
            my $n = sysread($r->{sock}, my $buf, 65536);
            if (!defined $n) {
                last if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
                $r->{read_error} = "$!";
                _req_parse($r, 1);
                _req_fail($r, "read: $r->{read_error}") unless $r->{done};
                return;
            }
            if ($n == 0) {
                _req_parse($r, 1);
                return;
            }
            $r->{rbuf} .= $buf;
        }
        _req_parse($r, 0);
    }
}

# Drives requests until all are done (or, with until_sent, until each has
# written its request).  Opts: tick => sub, tick_interval => S.
sub _drive {
    my ($reqs, %o) = @_;
    my $tick_iv = $o{tick_interval} // 0.05;
    my $next_tick = Time::HiRes::time();
    while (1) {
        my $now = Time::HiRes::time();
        my (@active, $deadline);
        for my $r (@$reqs) {
            next if $r->{done};
            if ($now >= $r->{deadline}) {
                _req_parse($r, 0);
                _req_fail($r, "timeout after $r->{timeout}s") unless $r->{done};
                next;
            }
            next if $o{until_sent} && !length $r->{wbuf};
            push @active, $r;
            $deadline = $r->{deadline}
                if !defined $deadline || $r->{deadline} < $deadline;
        }
        if ($o{tick} && $now >= $next_tick) {
            $o{tick}->();
            $next_tick = Time::HiRes::time() + $tick_iv;
        }
        if ($o{feed}) {
            $o{feed}->(\@active) and next;
        }
        last unless @active;

        my $wait = $deadline - $now;
        $wait = $next_tick - $now if $o{tick} && $next_tick - $now < $wait;
        $wait = 0 if $wait < 0;

        my (%by_fd, $rs, $ws);
        $rs = IO::Select->new;
        $ws = IO::Select->new;
        for my $r (@active) {
            $by_fd{ fileno $r->{sock} } = $r;
            $rs->add($r->{sock});
            $ws->add($r->{sock}) if length $r->{wbuf};
        }
        my ($rr, $wr) = IO::Select->select($rs, $ws, undef, $wait);
        my (%can_r, %can_w);
        $can_r{ fileno $_ } = 1 for @{ $rr || [] };
        $can_w{ fileno $_ } = 1 for @{ $wr || [] };
        for my $fd (keys %by_fd) {
            next unless $can_r{$fd} || $can_w{$fd};
            _req_io($by_fd{$fd}, $can_w{$fd}, $can_r{$fd});
        }
    }
}

sub _result {
    my ($r) = @_;
    my $res = $r->{result};
    if (defined $res->{body} && $res->{body} =~ /\A\s*[\[{"]/) {
        $res->{json} = eval { JSON::PP->new->utf8->allow_nonref
                                        ->decode($res->{body}) };
    }
    return $res;
}

# http_req(METHOD, PATH, headers => {...} | [...], body => ...,
# timeout => S) -> {status, reason, headers (lower-case names), body, json,
# elapsed, start, finish, error}
sub http_req {
    my ($method, $path, %o) = @_;
    my $r = _req_open(%o, method => $method, path => $path);
    _drive([$r]);
    return _result($r);
}

# http_start(...) sends the request and returns a handle.
sub http_start {
    my ($method, $path, %o) = @_;
    my $r = _req_open(%o, method => $method, path => $path);
    _drive([$r], until_sent => 1);
    return $r;
}

sub http_finish {
    my ($r) = @_;
    _drive([$r]);
    return _result($r);
}

# http_raw($bytes, timeout => 10): the bytes, as they are, on a new
# connection; everything read until the server closes it (or the timeout)
sub http_raw {
    my ($bytes, %o) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => server_port(), Timeout => 5)
        or die "connect: $@";
    binmode $s;
    syswrite $s, $bytes;
    my $in = '';
    local $SIG{ALRM} = sub { die "timeout\n" };
    alarm($o{timeout} // 10);
    eval { while (sysread($s, my $buf, 65536)) { $in .= $buf } };
    alarm 0;
    return $in;
}

# Closes the connection without reading the response.
sub http_abort {
    my ($r) = @_;
    if (!$r->{done}) {
        $r->{result}{error} = 'aborted by the client';
        _req_done($r);
    }
    return _result($r);
}

# http_concurrent([ [METHOD, PATH, %opts] | {method, path, ...}, ... ],
# max_parallel => N, tick => sub, tick_interval => S) -> [results] in the
# order of the requests.
sub http_concurrent {
    my ($specs, %o) = @_;
    my @specs = map {
        ref $_ eq 'ARRAY'
            ? do { my ($m, $p, %x) = @$_; +{ %x, method => $m, path => $p } }
            : +{ %$_ }
    } @$specs;
    my $max = $o{max_parallel} || scalar(@specs) || 1;
    my @reqs;
    my $next = 0;
    my $feed = sub {
        my ($active) = @_;
        my $started = 0;
        while ($next < @specs && @$active + $started < $max) {
            push @reqs, _req_open(%{ $specs[$next++] });
            $started++;
        }
        return $started;
    };
    $feed->([]);
    _drive(\@reqs, %o, feed => $feed);
    return [map { _result($_) } @reqs];
}

# ------------------------------------------------------------- backends

sub _resp_connect {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => redis_port(), Proto => 'tcp',
                                  Timeout => 5)
        or Carp::croak("cannot connect to Redis on port " . redis_port()
                       . ": $@");
    binmode $s;
    return $s;
}

sub _resp_call {
    my ($s, @args) = @_;
    my $cmd = '*' . @args . "\r\n";
    for my $a (@args) {
        my $b = "$a";
        utf8::encode($b) if utf8::is_utf8($b);
        $cmd .= '$' . length($b) . "\r\n$b\r\n";
    }
    print {$s} $cmd or Carp::croak("Redis write: $!");
    return _resp_read($s);
}

sub _resp_line {
    my ($s) = @_;
    local $/ = "\r\n";
    my $line = <$s>;
    Carp::croak("Redis closed the connection") unless defined $line;
    $line =~ s/\r\n\z//;
    return $line;
}

sub _resp_read {
    my ($s) = @_;
    my $line = _resp_line($s);
    my ($type, $rest) = (substr($line, 0, 1), substr($line, 1));
    return $rest if $type eq '+';
    return $rest + 0 if $type eq ':';
    Carp::croak("Redis error: $rest") if $type eq '-';
    if ($type eq '$') {
        return undef if $rest < 0;
        my $data = '';
        while (length $data < $rest + 2) {
            my $n = read($s, $data, $rest + 2 - length $data, length $data);
            Carp::croak("Redis closed the connection") unless $n;
        }
        return substr($data, 0, $rest);
    }
    if ($type eq '*') {
        return undef if $rest < 0;
        return [map { _resp_read($s) } 1 .. $rest];
    }
    Carp::croak("Redis: unexpected reply '$line'");
}

# redis_cmd('SET', 'k', 'v') -> the reply (string, number, arrayref or
# undef); dies on an error reply.
sub redis_cmd {
    my @args = @_;
    ensure_backends();
    my $s = _resp_connect();
    return _resp_call($s, @args);
}

# The Redis clients other than the one asking: ({id, addr, cmd, ...}, ...).
sub redis_clients {
    ensure_backends();
    my $s = _resp_connect();
    my $me = _resp_call($s, 'CLIENT', 'ID');
    my $list = _resp_call($s, 'CLIENT', 'LIST');
    my @clients;
    for my $line (split /\r?\n/, $list) {
        my %c = map { split /=/, $_, 2 } split ' ', $line;
        next if !defined $c{id} || $c{id} == $me;
        push @clients, \%c;
    }
    return @clients;
}

# psql($sql) -> rows (arrayrefs of column values), in scalar context an
# arrayref of the rows.  Values must not contain newlines.
sub psql {
    my ($sql) = @_;
    ensure_backends();
    my ($rc, $out, $err) = _run_cmd(
        [_psql_bin(), '-X', '-q', '-A', '-t', '-F', "\x1f",
         '-v', 'ON_ERROR_STOP=1', '-d', pg_conninfo(), '-c', $sql],
        env => { PGCONNECT_TIMEOUT => 5 });
    Carp::croak("psql failed (exit $rc): $err") if $rc;
    my @rows = map { [split /\x1f/, $_, -1] } split /\n/, $out;
    return wantarray ? @rows : \@rows;
}

# The server's own client binary: Debian's /usr/bin/psql is a Perl
# wrapper that costs some 60 ms of CPU a call.
sub _psql_bin {
    my $bin = $Stack{PG_BIN} ? "$Stack{PG_BIN}/psql" : '';
    return -x $bin ? $bin : 'psql';
}

sub psql_value {
    my ($row) = psql(@_);
    return $row ? $row->[0] : undef;
}

# backend_conns('redis' | 'postgres' | PORT): the local ports of the
# established TCP connections that the running nginx (master or workers)
# has to that backend -- exact even if other programs use the backend.
sub backend_conns {
    my ($which) = @_;
    my $port = $which =~ /^\d+$/ ? $which
             : $which eq 'redis' ? redis_port()
             : $which =~ /^(postgres|pg)$/ ? pg_port()
             : Carp::croak("unknown backend '$which'");
    my $master = nginx_pid() or return ();
    my %inodes;
    for my $pid ($master, map { $_->[0] } worker_procs($master)) {
        opendir my $dh, "/proc/$pid/fd" or next;
        for my $fd (readdir $dh) {
            my $link = readlink "/proc/$pid/fd/$fd" or next;
            $inodes{$1} = 1 if $link =~ /^socket:\[(\d+)\]$/;
        }
    }
    my $remote = sprintf '0100007F:%04X', $port;
    my @ports;
    open my $fh, '<', '/proc/net/tcp' or return ();
    while (my $line = <$fh>) {
        my @f = split ' ', $line;
        next unless @f > 9 && $f[2] eq $remote && $f[3] eq '01';
        next unless $inodes{ $f[9] };
        push @ports, hex((split /:/, $f[1])[1]);
    }
    my @sorted = sort { $a <=> $b } @ports;
    return @sorted;
}

# ---------------------------------------------------------------- blocks

sub _has { exists $_[0]->{ $_[1] } }

# The value of a section: undef if absent, an arrayref if an eval filter
# gave a list.
sub _val {
    my ($block, $name) = @_;
    return undef unless _has($block, $name);
    my @v = $block->$name;
    return @v > 1 ? [@v] : $v[0];
}

sub _is_eval {
    my ($block, $name) = @_;
    my $map = $block->{_section_map}[0] || {};
    my $f = $map->{$name}{filters} // '';
    return $f =~ /\beval\b/;
}

# Requests of a block: ({method, path, body, headers}, ...).
sub _block_requests {
    my ($block) = @_;
    return @{ $block->{_csibiz_reqs} } if $block->{_csibiz_reqs};
    my @raw;
    if (_has($block, 'request')) {
        my @v = $block->request;
        @raw = (@v == 1 && ref $v[0] eq 'ARRAY') ? @{ $v[0] } : @v;
    }
    my $eval = _is_eval($block, 'request');
    my @headers = _more_headers($block);
    my @reqs;
    for my $raw (@raw) {
        if (ref $raw eq 'HASH') {
            push @reqs, { headers => [@headers], %$raw };
            next;
        }
        next unless defined $raw;
        my $text = $eval ? $raw : env_subst($raw);
        $text =~ s/\A\s+//;
        my ($line, $body) = split /\n/, $text, 2;
        my ($method, $path, $proto) = split ' ', $line;
        if (defined $body && !$eval) {
            $body =~ s/\n\z//;
        }
        $body = undef if defined $body && $body eq '';
        push @reqs, { method => $method, path => $path,
                      ($proto ? (protocol => $proto) : ()),
                      body => $body, headers => [@headers] };
    }
    $block->{_csibiz_reqs} = \@reqs;
    return @reqs;
}

sub _more_headers {
    my ($block) = @_;
    my $v = _val($block, 'more_headers');
    return () unless defined $v;
    return map { @$_ } _header_pairs($v) if ref $v;
    my @pairs;
    for my $line (split /\n/, env_subst($v)) {
        next unless $line =~ /\S/;
        my ($n, $val) = $line =~ /^\s*([^:]+?)\s*:\s*(.*?)\s*$/
            or Carp::croak("bad more_headers line: $line");
        push @pairs, $n, $val;
    }
    return @pairs;
}

# Lines of a section, or the patterns an eval gave (strings or qr//).
sub _patterns {
    my ($block, $name) = @_;
    return () unless _has($block, $name);
    my @v = $block->$name;
    @v = @{ $v[0] } if @v == 1 && ref $v[0] eq 'ARRAY';
    return map { ref $_ ? $_ : env_subst($_) } grep { defined && length } @v
        if _is_eval($block, $name);
    return map { env_subst($_) } grep { /\S/ } map { split /\n/ } @v;
}

sub _header_lines {
    my ($block, $name) = @_;
    my $v = _val($block, $name);
    return () unless defined $v;
    return grep { /\S/ } map { s/^\s+|\s+$//gr } split /\n/, env_subst($v);
}

# An expectation for request i: arrayref values (from eval) are per request.
sub _expect {
    my ($block, $name, $i) = @_;
    my $v = _val($block, $name);
    return $v unless ref $v eq 'ARRAY';
    return $v->[$i];
}

my @RESPONSE_CHECKS = qw(error_code response_body response_body_like
                         response_body_json response_body_json_like);

sub _config_only {
    my ($block) = @_;
    return _has($block, 'must_die') || _has($block, 'config_test_only');
}

sub _per_request_count {
    my ($block) = @_;
    my @checks = ((grep { _has($block, $_) } @RESPONSE_CHECKS),
                  _header_lines($block, 'response_headers'),
                  _header_lines($block, 'response_headers_like'));
    return scalar @checks;
}

# The number of tests a block runs, all repetitions included.
sub _block_count {
    my ($block) = @_;
    my @logs = (_patterns($block, 'error_log'),
                _patterns($block, 'no_error_log'));
    my $logs = @logs;
    return 1 + $logs if _config_only($block);
    my @reqs = _block_requests($block);
    my $per_rep = @reqs * _per_request_count($block)
                  + $logs + 1;                  # + the automatic log check
    return $per_rep * $RepeatEach + 1;          # + the clean-stop check
}

# The number of tests run_blocks() runs: for `plan tests => ...`.
sub block_tests {
    my $n = 0;
    $n += _block_count($_) for blocks();
    return $n;
}

# Runs the blocks, then done_testing() unless the file declared a plan.
# Files that add plain-Perl tests call run_blocks() and done_testing().
sub run_tests {
    run_blocks();
    done_testing() unless Test::More->builder->has_plan;
}

sub run_blocks {
    for my $block (blocks()) {
        _run_block($block);
    }
    stop_nginx();
}

sub _block_nginx_opts {
    my ($block) = @_;
    my %o = (title => $block->name);
    for my $k (qw(main_config http_config config workers log_level)) {
        my $v = _val($block, $k);
        $o{$k} = $v if defined $v;
    }
    $o{no_backends} = 1 if _has($block, 'no_backends');
    $o{no_module} = 1 if _has($block, 'no_module');
    return %o;
}

sub _log_checks {
    my ($block, $name, $log, $sfx) = @_;
    $sfx //= '';
    for my $p (_patterns($block, 'error_log')) {
        my $hit = ref $p ? $log =~ $p : index($log, $p) >= 0;
        Test::More::ok($hit, "$name - error_log has " . _show($p) . $sfx)
            or Test::More::diag("log:\n" . _tail($log));
    }
    for my $p (_patterns($block, 'no_error_log')) {
        my @lines = grep { ref $p ? $_ =~ $p : index($_, $p) >= 0 }
                    split /\n/, $log;
        Test::More::ok(!@lines, "$name - error_log has no " . _show($p) . $sfx)
            or Test::More::diag(join "\n", @lines[0 .. ($#lines < 9 ? $#lines : 9)]);
    }
}

sub _show {
    my ($p) = @_;
    return ref $p ? "$p" : "'$p'";
}

sub _tail {
    my ($log, $n) = @_;
    my @l = split /\n/, $log;
    $n //= 30;
    @l = @l[-$n .. -1] if @l > $n;
    return join("\n", @l) . "\n";
}

sub _run_block {
    my ($block) = @_;
    my $name = $block->name;

    if (_config_only($block)) {
        return _run_config_block($block, $name);
    }

    my ($ok, $err) = _start_nginx(_block_nginx_opts($block));
    unless ($ok) {
        my $n = _block_count($block);
        Test::More::fail("$name - nginx started") for 1 .. $n;
        Test::More::diag($err);
        return;
    }

    my @reqs = _block_requests($block);
    my $timeout = _val($block, 'timeout');
    my $wait = _val($block, 'wait');
    my @want_logs = _patterns($block, 'error_log');

    for my $rep (1 .. $RepeatEach) {
        my $sfx = $RepeatEach > 1 ? " (repeat $rep)" : '';
        my $mark = $rep == 1 ? 0 : error_log_mark();
        my @res;
        for my $req (@reqs) {
            push @res, http_req($req->{method}, $req->{path}, %$req,
                                (defined $timeout ? (timeout => $timeout) : ()));
        }
        Time::HiRes::sleep($wait) if $wait;
        if (@want_logs) {
            wait_until(sub {
                my $log = error_log_since($mark);
                !grep { ref $_ ? $log !~ $_ : index($log, $_) < 0 } @want_logs;
            }, timeout => 1, interval => 0.02);
        }
        Time::HiRes::sleep($LogSettle);
        my $log = error_log_since($mark);

        for my $i (0 .. $#reqs) {
            my $rsfx = @reqs > 1 ? " (request " . ($i + 1) . ")$sfx" : $sfx;
            _response_checks($block, $name, $rsfx, $res[$i], $i);
        }
        _log_checks($block, $name, $log, $sfx);
        my @bad = grep { $_ =~ $BadLogRe } split /\n/, $log;
        Test::More::ok(!@bad, "$name - no alert/crit/emerg or crash in "
                              . "error.log$sfx")
            or Test::More::diag(join "\n", @bad);
    }

    my $mark = error_log_mark();
    my $graceful = stop_nginx();
    my @bad = grep { $_ =~ $BadLogRe } split /\n/, error_log_since($mark);
    Test::More::ok($graceful && !@bad, "$name - nginx stopped cleanly")
        or Test::More::diag($graceful ? join("\n", @bad)
                            : "nginx did not exit within ${StopTimeout}s of "
                              . "SIGQUIT\n" . join("\n", @bad));
}

sub _run_config_block {
    my ($block, $name) = @_;
    stop_nginx();
    my $conf = eval { _build_conf(_block_nginx_opts($block)) };
    my ($rc, $out) = (255, $@);
    if (defined $conf) {
        _prepare_servroot($conf);
        ($rc, $out) = _config_test();
    }
    if (_has($block, 'must_die')) {
        Test::More::ok($rc != 0, "$name - nginx -t fails")
            or Test::More::diag("nginx -t passed:\n$out");
    } else {
        Test::More::ok($rc == 0, "$name - nginx -t passes")
            or Test::More::diag($out);
    }
    _log_checks($block, $name, $out);
}

sub _response_checks {
    my ($block, $name, $sfx, $res, $i) = @_;
    my $err = $res->{error};
    my $why = defined $err ? "request failed: $err" : undef;

    if (_has($block, 'error_code')) {
        my $want = _expect($block, 'error_code', $i);
        Test::More::is($res->{status}, $want, "$name - status code$sfx")
            or do { Test::More::diag($why) if $why };
    }

    for my $line (_header_lines($block, 'response_headers')) {
        if ($line =~ /^!\s*(\S+)$/) {
            my $h = $1;
            Test::More::ok(!defined $res->{headers}{ lc $h },
                           "$name - header $h absent$sfx")
                or Test::More::diag("$h: $res->{headers}{lc $h}");
            next;
        }
        my ($h, $v) = $line =~ /^([^:]+?)\s*:\s*(.*)$/;
        unless (defined $h) {
            Test::More::fail("$name - bad response_headers line '$line'$sfx");
            next;
        }
        Test::More::is($res->{headers}{ lc $h }, $v, "$name - header $h$sfx");
    }

    for my $line (_header_lines($block, 'response_headers_like')) {
        my ($h, $v) = $line =~ /^([^:]+?)\s*:\s*(.*)$/;
        unless (defined $h) {
            Test::More::fail("$name - bad response_headers_like line '$line'$sfx");
            next;
        }
        Test::More::like($res->{headers}{ lc $h } // '', qr/$v/,
                         "$name - header $h like$sfx");
    }

    if (_has($block, 'response_body')) {
        my $want = _expect($block, 'response_body', $i);
        Test::Base::is($res->{body}, $want, "$name - response body$sfx")
            or do { Test::More::diag($why) if $why };
    }

    if (_has($block, 'response_body_like')) {
        my $want = _expect($block, 'response_body_like', $i);
        my $re = ref $want eq 'Regexp' ? $want : qr/$want/s;
        Test::More::like($res->{body} // '', $re, "$name - response body like$sfx")
            or do { Test::More::diag($why) if $why };
    }

    for my $kind (qw(response_body_json response_body_json_like)) {
        next unless _has($block, $kind);
        my $want = _expect($block, $kind, $i);
        my $json = JSON::PP->new->utf8->allow_nonref->canonical;
        my $exp = ref $want ? $want : eval { $json->decode($want) };
        if (!defined $exp && $@) {
            Test::More::fail("$name - $kind: expected value is not JSON$sfx");
            Test::More::diag($@);
            next;
        }
        my $got = eval { $json->decode($res->{body} // '') };
        my $what = $kind eq 'response_body_json' ? 'JSON body'
                                                 : 'JSON body like';
        if ($@) {
            Test::More::fail("$name - $what$sfx");
            Test::More::diag(($why // "body is not JSON: $@")
                             . "\nbody: " . ($res->{body} // '(none)'));
            next;
        }
        if ($kind eq 'response_body_json') {
            Test::More::is($json->encode($got), $json->encode($exp),
                           "$name - $what$sfx");
        } else {
            my $diff = json_like($got, $exp);
            Test::More::ok(!defined $diff, "$name - $what$sfx")
                or Test::More::diag("$diff\nbody: $res->{body}");
        }
    }
}

# json_like(GOT, EXPECTED): undef if GOT matches, else why not.  Objects
# match if every expected key matches (extra keys are fine), arrays
# element by element, strings "re:REGEX" by regex, the rest by equality.
sub json_like {
    my ($got, $exp, $path) = @_;
    $path //= '';
    my $at = length $path ? $path : '(top)';
    if (ref $exp eq 'HASH') {
        return "$at: expected an object" unless ref $got eq 'HASH';
        for my $k (sort keys %$exp) {
            return "$at: missing key '$k'" unless exists $got->{$k};
            my $d = json_like($got->{$k}, $exp->{$k}, "$path.$k");
            return $d if defined $d;
        }
        return undef;
    }
    if (ref $exp eq 'ARRAY') {
        return "$at: expected an array" unless ref $got eq 'ARRAY';
        return "$at: " . @$got . " elements, expected " . @$exp
            unless @$got == @$exp;
        for my $i (0 .. $#$exp) {
            my $d = json_like($got->[$i], $exp->[$i], "$path\[$i]");
            return $d if defined $d;
        }
        return undef;
    }
    if (JSON::PP::is_bool($exp)) {
        return undef if JSON::PP::is_bool($got) && !!$got == !!$exp;
        return "$at: expected " . ($exp ? 'true' : 'false');
    }
    if (!defined $exp) {
        return defined $got ? "$at: expected null" : undef;
    }
    return "$at: got " . (defined $got ? 'a structure' : 'null')
        if ref $got && !JSON::PP::is_bool($got) || !defined $got;
    if ($exp =~ /^re:(.*)$/s) {
        my $re = $1;
        return $got =~ /$re/ ? undef : "$at: '$got' !~ /$re/";
    }
    return "$got" eq "$exp" ? undef : "$at: got '$got', expected '$exp'";
}

# ----------------------------------------------------------------- end

$SIG{INT} = $SIG{TERM} = sub { exit 130 } unless $SIG{INT} || $SIG{TERM};

END {
    if ($$ == $MAIN_PID) {
        local $?;
        # the file's stack goes, unless nginx is left for a look
        if (!$ENV{TEST_NGINX_NO_CLEAN}) {
            stop_nginx();
            if ($BackendsReady) {
                eval { _stack('db-drop') unless $OwnPostgres;
                       _stack('stop') };
                print STDERR "# could not stop the file's stack: $@" if $@;
            }
        }
    }
}

1;
