#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the tests: unix socket only, no TCP.
#   pg_cluster.sh start DIR [--durable]   initdb into DIR, start it, create
#                                         database "useradmin"; prints the conninfo
#   pg_cluster.sh stop DIR                stop it and remove DIR
# DIR/conninfo holds the libpq connection string once the cluster is up.
# As root, initdb and the server run as the `postgres` OS user (initdb
# refuses root). --durable keeps fsync on (benchmarks); the tests turn it
# off, which only matters if the machine itself crashes.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR [--durable]" >&2; exit 2; }
[[ $# -ge 2 ]] || usage
action=$1
dir=$2
durable=${3:-}

bindir=${USERADMIN_PG_BINDIR:-}
if [[ -z "$bindir" ]]; then
  if [[ -x /usr/lib/postgresql/15/bin/initdb ]]; then bindir=/usr/lib/postgresql/15/bin
  elif command -v pg_config >/dev/null && [[ -x "$(pg_config --bindir)/initdb" ]]; then bindir=$(pg_config --bindir)
  else echo "pg_cluster.sh: no PostgreSQL server binaries (install postgresql-15: scripts/install-deps)" >&2; exit 1
  fi
fi

as_owner() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

stop_cluster() {
  if [[ -f "$dir/data/postmaster.pid" ]]; then
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

case "$action" in
  start)
    stop_cluster  # a cluster left over by an interrupted run
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    trap 'status=$?; if [[ $status -ne 0 ]]; then cat "$dir/server.log" >&2 2>/dev/null || true; stop_cluster; fi' EXIT
    if [[ $(id -u) -eq 0 ]]; then chown postgres "$dir"; fi
    chmod 0755 "$dir"
    as_owner "$bindir/initdb" -D "$dir/data" -U useradmin --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
      >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    fsync=off
    [[ "$durable" == "--durable" ]] && fsync=on
    opts="-c listen_addresses='' -c unix_socket_directories='$dir' -c port=5432 -c max_connections=200"
    opts+=" -c fsync=$fsync -c full_page_writes=$fsync -c synchronous_commit=on"
    opts+=" -c shared_buffers=128MB -c max_pred_locks_per_transaction=256"
    # Extra server settings (the benchmarks load pg_stat_statements).
    opts+=" ${USERADMIN_PG_EXTRA_OPTS:-}"
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "$opts" -w -t 60 start >/dev/null
    "$bindir/psql" -X -q -h "$dir" -p 5432 -U useradmin -d postgres -c "CREATE DATABASE useradmin" >/dev/null
    conninfo="host=$dir port=5432 user=useradmin dbname=useradmin"
    echo "$conninfo" >"$dir/conninfo"
    echo "$conninfo"
    ;;
  stop)
    stop_cluster
    ;;
  *) usage ;;
esac
