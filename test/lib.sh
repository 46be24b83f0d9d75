# Shared by `make test`, `make demo` and the benchmarks: package installation,
# running servers as an unprivileged user, and locating PostgreSQL 15.

PG_CONFIG=${PG_CONFIG:-pg_config}
PACKAGES=(postgresql-15 postgresql-server-dev-15 postgresql-15-plproxy postgresql-contrib
    libfmt-dev nlohmann-json3-dev libipc-run-perl build-essential clang-14
    python3-django python3-psycopg2)

step() { printf '\n=== %s\n' "$*"; }
die() { echo "error: $*" >&2; exit 1; }

# Installs the Debian packages the build and the tests need, when run as root.
ensure_packages() {
    local missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        [ "$(id -u)" -eq 0 ] || die "missing packages: ${missing[*]} (run as root, or apt-get install them)"
        step "installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q >/dev/null || die "apt-get update failed"
        apt-get install -y -q "${missing[@]}" >/dev/null || die "apt-get install failed"
    fi
    PG_BINDIR=$("$PG_CONFIG" --bindir)
    PGXS_DIR=$(dirname "$(dirname "$("$PG_CONFIG" --pgxs)")")
    export PG_BINDIR PGXS_DIR
}

# Runs a command as the user that owns the test servers, from /, so that it
# never needs access to the clone (which may sit under /root).
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

# Gives a directory to the server user.
own() {
    if [ "$(id -u)" -eq 0 ]; then chown -R postgres: "$@"; fi
}

make_workdir() {
    local d
    d=$(mktemp -d "/tmp/$1.XXXXXX") || die "mktemp failed"
    chmod 755 "$d"
    own "$d"
    echo "$d"
}

# A throwaway server in a temporary directory, run as the server user.
# start_server DIR PORT [extra postgres.conf lines...]; stop_server DIR
start_server() {
    local dir=$1 port=$2
    shift 2
    mkdir -p "$dir" && own "$dir"
    as_pg "$PG_BINDIR/initdb" -D "$dir/data" -A trust -U postgres --no-sync >/dev/null || die "initdb failed"
    {
        echo "port = $port"
        echo "listen_addresses = ''"
        echo "unix_socket_directories = '$dir'"
        echo "fsync = off"
        for line in "$@"; do echo "$line"; done
    } >>"$dir/data/postgresql.conf"
    as_pg "$PG_BINDIR/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null || {
        cat "$dir/server.log"
        die "server did not start"
    }
}

stop_server() {
    as_pg "$PG_BINDIR/pg_ctl" -D "$1/data" -m fast -w stop >/dev/null 2>&1 || true
}

# A free TCP port number for a throwaway server.
free_port() {
    local p
    for p in $(seq 54300 54399); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && [ ! -e "/tmp/.s.PGSQL.$p" ]; then
            echo "$p"
            return
        fi
    done
    die "no free port"
}

# A streaming standby of a throwaway primary, cloned with pg_basebackup and
# connecting with its own application_name (how pg_stat_replication names it).
# start_standby PRIMARY_DIR PRIMARY_PORT DIR PORT APPLICATION_NAME
start_standby() {
    local pdir=$1 pport=$2 dir=$3 port=$4 app=$5
    mkdir -p "$dir" && own "$dir"
    as_pg "$PG_BINDIR/pg_basebackup" -h "$pdir" -p "$pport" -U postgres -D "$dir/data" -X stream --no-sync \
        >/dev/null || die "pg_basebackup failed"
    as_pg touch "$dir/data/standby.signal"
    {
        echo "port = $port"
        echo "unix_socket_directories = '$dir'"
        echo "primary_conninfo = 'host=$pdir port=$pport user=postgres application_name=$app'"
        echo "hot_standby = on"
    } >>"$dir/data/postgresql.conf"
    as_pg "$PG_BINDIR/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null || {
        cat "$dir/server.log"
        die "standby did not start"
    }
}

# Waits until QUERY (run on the server in DIR:PORT) prints EXPECTED; gives up after 60 s.
wait_for() {
    local dir=$1 port=$2 query=$3 expected=$4 i
    for i in $(seq 1 600); do
        [ "$(as_pg "$PG_BINDIR/psql" -X -A -t -q -h "$dir" -p "$port" -U postgres -d postgres -c "$query" 2>/dev/null)" = "$expected" ] &&
            return 0
        sleep 0.1
    done
    die "timed out waiting for: $query = $expected"
}
