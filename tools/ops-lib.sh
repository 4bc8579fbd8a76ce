# tools/ops-lib.sh -- sourced by the ops tools (tools/roster-add,
# roster-import, debit-export, result-import, year-setup, remind,
# seal-birth-dates): where the database and the key file are, psql,
# csibiz-keytool, quoting.
#
# One option contract and one set of exit statuses for every ops tool.
# The caller sets PROG, and OPS_KEY_NEEDED=1 before sourcing this file
# when it indexes, seals or opens values (the key file is then required
# with --db); it defines usage() with $OPS_WHERE in its synopsis and
# $OPS_USAGE and $OPS_EXIT in its text.  Its option loop hands --env,
# --db and --key to `ops_option "$@"` and shifts 2.  ops_connect then
# fills
#   OPS_CONNINFO  libpq connection string
#   OPS_KEY       the module's csibiz_secret_file (ops_keytool checks it)
#   OPS_PSQL      the psql binary
# from, in this order: --db / --key, the environment (CSIBIZ_PG_CONNINFO,
# CSIBIZ_SECRET_FILE), and the tools/stack ENV (--env, default test; its
# ops role's login, PG_OPS_CONNINFO).
#
# Exit statuses: 0 done; 1 rows refused (ops_refused: the others were
# applied); 2 usage (usage_error); 3 bad input or any other failure,
# nothing written (die).

OPS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
OPS_KEY_NEEDED=${OPS_KEY_NEEDED:-0}

# The package's commands (/usr/lib/csibiz/csibiz-*) run these scripts
# under their own names.
PROG=${CSIBIZ_PROG:-$PROG}
unset CSIBIZ_PROG

ops_env=test ops_env_given="" ops_db="" ops_key=""

die() { echo "$PROG: $*" >&2; exit 3; }
usage_error() { echo "$PROG: $*" >&2; usage >&2; exit 2; }
ops_refused() { exit 1; }

# The options every ops tool takes, for its usage().
if ((OPS_KEY_NEEDED)); then
    OPS_WHERE='[--env test|demo | --db CONNINFO --key FILE]'
    OPS_USAGE='  --env test|demo   the tools/stack database and key file (default
                    test)
  --db CONNINFO     another database, e.g. production (libpq string;
                    default $CSIBIZ_PG_CONNINFO); needs --key
  --key FILE        its csibiz_secret_file (default $CSIBIZ_SECRET_FILE)'
else
    OPS_WHERE='[--env test|demo | --db CONNINFO]'
    OPS_USAGE='  --env test|demo   the tools/stack database (default test)
  --db CONNINFO     another database, e.g. production (libpq string;
                    default $CSIBIZ_PG_CONNINFO).  No key file is needed;
                    --key FILE is accepted and not used'
fi
OPS_EXIT='Exit status: 0 done; 1 some rows refused (the others applied); 2
usage error; 3 bad input or another failure (nothing written).'

ops_option() {
    (($# >= 2)) || usage_error "$1 needs a value"
    case $1 in
    --env) ops_env=$2 ops_env_given=1 ;;
    --db)  ops_db=$2 ;;
    --key) ops_key=$2 ;;
    esac
}

ops_connect() {
    local line
    declare -gA ops_stack=()

    [[ $ops_env == test || $ops_env == demo ]] \
        || usage_error "--env is test or demo"
    [[ -z $ops_env_given || -z $ops_db ]] \
        || usage_error "--env and --db exclude each other"
    [[ -z $ops_env_given || -z $ops_key ]] \
        || usage_error "--env and --key exclude each other: a stack has" \
                       "its own key file"

    # An explicit --env wins over the environment.  A database that is not
    # a stack's never borrows a stack's key: under the wrong key, ID
    # numbers get another blind index and sealed values cannot be opened.
    if [[ -z $ops_env_given ]]; then
        ops_db=${ops_db:-${CSIBIZ_PG_CONNINFO:-}}
        ops_key=${ops_key:-${CSIBIZ_SECRET_FILE:-}}
    fi
    if ((OPS_KEY_NEEDED)) && [[ -n $ops_db && -z $ops_key ]]; then
        usage_error "--db needs --key (or CSIBIZ_SECRET_FILE): the key" \
                    "file of the nginx that serves that database"
    fi

    if [[ -z $ops_db && ! -x $OPS_ROOT/tools/stack ]]; then
        usage_error "--db CONNINFO is needed (or CSIBIZ_PG_CONNINFO):" \
                    "there is no tools/stack here"
    fi
    if [[ -z $ops_db ]]; then
        while IFS= read -r line; do
            ops_stack[${line%%=*}]=${line#*=}
        done < <("$OPS_ROOT/tools/stack" "$ops_env" env)
    fi

    # A stack's ops tools log in as its ops role; an upgrade step
    # (OPS_AS_OWNER=1, e.g. seal-birth-dates) as its superuser, who runs
    # the migrations (docs/operations.md, "Database roles").
    if ((${OPS_AS_OWNER:-0})); then
        OPS_CONNINFO=${ops_db:-${ops_stack[PG_CONNINFO]:-}}
    else
        OPS_CONNINFO=${ops_db:-${ops_stack[PG_OPS_CONNINFO]:-${ops_stack[PG_CONNINFO]:-}}}
    fi
    OPS_KEY=${ops_key:-${ops_stack[SECRET_KEY]:-}}

    # Debian's /usr/bin/psql is a Perl wrapper that costs ~60 ms a call:
    # the stack's own client binary when there is one.
    OPS_PSQL=${ops_stack[PG_BIN]:+${ops_stack[PG_BIN]}/psql}
    if [[ ! -x ${OPS_PSQL:-} ]]; then
        OPS_PSQL=psql
        for line in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V); do
            [[ -x $line/psql ]] && OPS_PSQL=$line/psql
        done
    fi
}

# psql with the connection, no psqlrc, stopping at the first error; terse
# errors, as a refused row's DETAIL and CONTEXT would print its values
ops_psql() {
    "$OPS_PSQL" -X -q -v ON_ERROR_STOP=1 -v VERBOSITY=terse \
        -v SHOW_CONTEXT=never "$@" "$OPS_CONNINFO"
}

# The keytool of this tree (built when missing or stale), or
# $CSIBIZ_KEYTOOL, or csibiz-keytool in PATH on a host without the tree;
# and the key file, unless $1 is "nokey" (the csv command needs none).
ops_keytool() {
    [[ ${1:-} == nokey || -s $OPS_KEY ]] \
        || die "no key file ${OPS_KEY:-(none)}: give --key, or run" \
               "tools/stack $ops_env start-backends"
    if [[ -n ${CSIBIZ_KEYTOOL:-} ]]; then
        OPS_KEYTOOL=$CSIBIZ_KEYTOOL
    elif [[ -f $OPS_ROOT/tools/csibiz-keytool.c ]]; then
        OPS_KEYTOOL=$OPS_ROOT/build/csibiz-keytool
        make -C "$OPS_ROOT" -s -f mk/keytool.mk keytool >&2 \
            || die "could not build $OPS_KEYTOOL"
    else
        OPS_KEYTOOL=$(command -v csibiz-keytool) \
            || die "csibiz-keytool not found: set CSIBIZ_KEYTOOL"
    fi
}

# A psql meta-command argument in single quotes: quotes doubled and
# backslashes escaped, since psql reads \n and the like inside them; a
# line break would end the meta-command and let the rest run as SQL, so
# line breaks are written as psql's \n and \r escapes.
ops_quote() {
    local v=${1//\\/\\\\}
    v=${v//$'\n'/\\n}
    v=${v//$'\r'/\\r}
    printf "'%s'" "${v//\'/\'\'}"
}

# `\set NAME 'value'` for a psql script: the value is then used as
# :'NAME' (a literal) or :NAME, never pasted into SQL text.
ops_set() {
    printf '\\set %s %s\n' "$1" "$(ops_quote "$2")"
}

# A private scratch directory, removed when the tool exits.
ops_tmpdir() {
    OPS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/csibiz-ops.XXXXXX") \
        || die "cannot make a temporary directory"
    chmod 700 "$OPS_TMP"
    trap 'rm -rf "$OPS_TMP"' EXIT
}

ops_sha256() {
    local sum
    sum=$(sha256sum < "$1") || die "cannot read $1"
    echo "${sum%% *}"
}
