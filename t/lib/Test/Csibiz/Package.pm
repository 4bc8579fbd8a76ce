package Test::Csibiz::Package;

# The Debian package, for t/095-package.t and t/096-operations-guide.t:
#
#   package_deb()             the .deb: $CSIBIZ_DEB, or tools/make-deb
#                             --if-stale (built once for both files, by a
#                             lock, when a file of the tree is newer)
#   host_root($dir, $deb)     the package extracted into $dir (dpkg-deb -x)
#                             with what the host would have around it:
#                             nginx-common's directories, mime.types and
#                             the modules link, the postinst's link in
#                             modules-enabled, and an nginx.conf of
#                             Debian's shape (modules-enabled, conf.d,
#                             sites-enabled) with the root's paths
#   nginx_cmd($dir)           Debian's /usr/sbin/nginx with -p and -c of
#                             that root
#   sandbox_subst($text, $dir, %ports)
#                             the only change made to the guide's commands
#                             and to the example site: the paths the
#                             package and the guide use get the root's
#                             prefix, and the ports 5432 (pg), 6379
#                             (redis), 443 (https) and 80 (http) become
#                             the given ones
#   self_signed($dir)         a certificate for portal.example.cn in
#                             $dir/etc/ssl/csibiz (fullchain.pem,
#                             privkey.pem)
#   curl_get($url, $port, $dir)
#                             GET over HTTPS to 127.0.0.1:$port with the
#                             name of the URL: {status, body, json}

use strict;
use warnings;

use Exporter 'import';
use File::Path ();
use JSON::PP ();

use Test::Csibiz ();

our @EXPORT = qw(package_deb host_root nginx_cmd sandbox_subst self_signed
                 curl_get sandbox_paths);

# What the guide and the example name, and nothing else: a command's own
# path (/usr/bin/..., /usr/sbin/nginx) stays the host's.
my @PATHS = qw(
    /etc/nginx /etc/csibiz /etc/ssl/csibiz /usr/share/csibiz /usr/lib/csibiz
    /usr/share/nginx /usr/lib/nginx /usr/share/doc/libnginx-mod-http-csibiz
    /var/log/nginx
);

sub sandbox_paths { return @PATHS }

sub package_deb {
    return $ENV{CSIBIZ_DEB} if $ENV{CSIBIZ_DEB};
    my $root = Test::Csibiz::repo_root();
    my $out = qx{"$root/tools/make-deb" --if-stale 2>&1};
    die "tools/make-deb failed:\n$out" if $?;
    my ($deb) = $out =~ m{(\S+\.deb)\s*\z};
    die "tools/make-deb named no .deb:\n$out" unless $deb && -s $deb;
    return $deb;
}

sub _write {
    my ($file, $text) = @_;
    open my $fh, '>', $file or die "$file: $!";
    print {$fh} $text;
    close $fh or die "$file: $!";
}

sub host_root {
    my ($dir, $deb) = @_;
    system('dpkg-deb', '-x', $deb, $dir) == 0 or die "dpkg-deb -x $deb";
    File::Path::make_path(map { "$dir/$_" } qw(
        etc/nginx/modules-enabled etc/nginx/sites-available
        etc/nginx/sites-enabled etc/nginx/conf.d
        var/log/nginx var/lib/nginx run));

    # nginx-common: the prefix's modules directory is a link
    symlink '../../lib/nginx/modules', "$dir/usr/share/nginx/modules"
        or die "modules link: $!";
    system('cp', '/etc/nginx/mime.types', "$dir/etc/nginx/mime.types") == 0
        or die "no /etc/nginx/mime.types (nginx-common)";

    # the package's postinst (dh_nginx): the link into modules-enabled
    symlink "$dir/usr/share/nginx/modules-available/mod-http-csibiz.conf",
            "$dir/etc/nginx/modules-enabled/50-mod-http-csibiz.conf"
        or die "modules-enabled link: $!";

    my $user = $> == 0 ? "user www-data;\n" : '';
    _write("$dir/etc/nginx/nginx.conf", <<"EOF");
# The host's nginx.conf, of Debian's shape, with the sandbox's paths.
${user}worker_processes 2;
pid $dir/run/nginx.pid;
error_log $dir/var/log/nginx/error.log notice;
include $dir/etc/nginx/modules-enabled/*.conf;

events {
    worker_connections 768;
}

http {
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    include $dir/etc/nginx/mime.types;
    default_type application/octet-stream;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
    access_log $dir/var/log/nginx/access.log;
    client_body_temp_path $dir/var/lib/nginx/body;
    proxy_temp_path $dir/var/lib/nginx/proxy;
    fastcgi_temp_path $dir/var/lib/nginx/fastcgi;
    uwsgi_temp_path $dir/var/lib/nginx/uwsgi;
    scgi_temp_path $dir/var/lib/nginx/scgi;
    gzip on;
    include $dir/etc/nginx/conf.d/*.conf;
    include $dir/etc/nginx/sites-enabled/*;
}
EOF
    return $dir;
}

sub nginx_cmd {
    my ($dir) = @_;
    return ('/usr/sbin/nginx', '-p', "$dir/usr/share/nginx/",
            '-c', "$dir/etc/nginx/nginx.conf");
}

sub sandbox_subst {
    my ($text, $dir, %port) = @_;
    my $re = join '|', map { quotemeta } @PATHS;
    $text =~ s{(?<![\w./-])($re)(?![\w.-])}{$dir$1}g;
    $text =~ s{\blisten 443\b}{listen 127.0.0.1:$port{https}}g
        if $port{https};
    $text =~ s{\blisten 80\b}{listen 127.0.0.1:$port{http}}g
        if $port{http};
    $text =~ s{:443\b}{:$port{https}}g if $port{https};
    $text =~ s{\bport=5432\b}{port=$port{pg}}g if $port{pg};
    $text =~ s{127\.0\.0\.1:6379\b}{127.0.0.1:$port{redis}}g
        if $port{redis};
    return $text;
}

sub self_signed {
    my ($dir) = @_;
    my $ssl = "$dir/etc/ssl/csibiz";
    File::Path::make_path($ssl);
    my $out = qx{openssl req -x509 -newkey rsa:2048 -nodes -days 2 \\
        -subj /CN=portal.example.cn \\
        -addext subjectAltName=DNS:portal.example.cn \\
        -keyout "$ssl/privkey.pem" -out "$ssl/fullchain.pem" 2>&1};
    die "openssl: $out" if $?;
    chmod 0600, "$ssl/privkey.pem";
    return $ssl;
}

sub curl_get {
    my ($url, $port, $dir) = @_;
    my $out = qx{curl -sS --max-time 20 --connect-to "::127.0.0.1:$port" \\
        --cacert "$dir/etc/ssl/csibiz/fullchain.pem" \\
        -w '\\n%{http_code}' "$url" 2>&1};
    my ($body, $status) = $out =~ /\A(.*)\n(\d+)\z/s;
    $body //= $out;
    my $json = eval { JSON::PP::decode_json($body) };
    return { status => $status // 0, body => $body, json => $json };
}

1;
