#!/usr/bin/env bash
# PostgreSQL group commit, off vs on, back to back: PATCH
# /api/users/{id}/reactivate over distinct suspended users through one
# useradmin-server on a throwaway durable cluster (fsync=on,
# synchronous_commit=on), cycling through the `--db-group-commit` MODES
# (default "off on") for ROUNDS rounds on the same database (each run on
# its own range of users).
# Per run: requests/s, CPU per request (the server process plus every
# PostgreSQL process, from /proc utime+stime), database commits per second
# (pg_stat_database.xact_commit) and requests per commit. See
# docs/benchmarks.md, "PostgreSQL group commit".
#
# Group commit did not pay and is not in the tree: the server's
# `--db-group-commit off|on|rerun` flag this script drives exists only in
# the build of commit 0af715b (branch pggc). Build that commit's release
# `useradmin-server` and `useradmin-load-setup` and pass its build dir.
#
#   bench/load/postgres_group_commit.sh --build-dir DIR [--duration S] [--rounds N]
#                                       [--conns N] [--threads N] [--db-pool N]
#                                       [--modes "off on rerun"]  (--db-group-commit values,
#                                       each optionally :POOL, e.g. "off:16 on:4")
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="$root/build/release" duration=10 rounds=3 conns=48 threads=2 pool=16 modes="off on"
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build=$2; shift ;;
    --duration) duration=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    --conns) conns=$2; shift ;;
    --threads) threads=$2; shift ;;
    --db-pool) pool=$2; shift ;;
    --modes) modes=$2; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
server_bin="$build/examples/server/useradmin-server"
setup_bin="$build/bench/useradmin-load-setup"
lua="$root/bench/load/reactivate.lua"
cluster="$root/tests/postgres/pg_cluster.sh"
# Enough distinct users for every run at well above the rates seen here.
nmodes=$(echo $modes | wc -w)
users=$((rounds * nmodes * duration * 2500 + 1000))

work=$(mktemp -d)
pgdir=$(mktemp -d /tmp/useradmin-pggc-XXXXXX)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  wait 2>/dev/null || true
  bash "$cluster" stop "$pgdir" || true
  rm -rf "$work"
}
trap cleanup EXIT

bash "$cluster" start "$pgdir" --durable >/dev/null
psql_() { psql -X -q -A -t -h "$pgdir" -p 5432 -U useradmin -d useradmin -c "$1"; }
uri="postgresql:///useradmin?host=$pgdir&port=5432&user=useradmin"
postmaster=$(head -1 "$pgdir/data/postmaster.pid")

"$setup_bin" --db "$uri" --users "$users" --secret-file "$work/secret" >"$work/tokens" 2>/dev/null
token=$(sed -n 's/^root=//p' "$work/tokens")

# cpu_ticks PID...: utime+stime of the processes (clock ticks).
cpu_ticks() {
  local total=0 p f
  for p in "$@"; do
    f=$(cut -d' ' -f14,15 "/proc/$p/stat" 2>/dev/null) || continue
    total=$((total + ${f% *} + ${f#* }))
  done
  echo "$total"
}
pg_pids() { echo "$postmaster" $(pgrep -P "$postmaster"); }
commits() { psql_ "SELECT xact_commit FROM pg_stat_database WHERE datname = 'useradmin'" | tr -d ' '; }

echo "| run | group commit[:pool] | req/s | non-2xx | CPU ms / request: server + postgres = total | commits/s | requests / commit |"
echo "|---|---|---|---|---|---|---|"
run=0
for round in $(seq 1 "$rounds"); do
  for spec in $modes; do
    run=$((run + 1))
    mode=${spec%%:*} runpool=$pool  # MODE or MODE:POOL
    [ "$spec" != "$mode" ] && runpool=${spec#*:}
    "$server_bin" --listen 127.0.0.1:0 --threads "$threads" --jwt-hs256-secret-file "$work/secret" --access-log off \
      --db "$uri" --db-pool "$runpool" --db-group-commit "$mode" >"$work/server.out" 2>"$work/server.err" &
    pid=$!
    addr=""
    for _ in $(seq 1 400); do
      addr=$(sed -n 's/^listening on \(http:\/\/[^ ]*\).*/\1/p' "$work/server.out" | head -1)
      [ -n "$addr" ] && break
      sleep 0.05
    done
    [ -n "$addr" ] || { echo "the server did not start:" >&2; cat "$work/server.err" >&2; exit 1; }
    sleep 0.5
    pids=($(pg_pids))
    c0=$(commits); s0=$(cpu_ticks "$pid"); t0=$(cpu_ticks "${pids[@]}")
    wrk -t1 -c"$conns" -d"${duration}s" -s "$lua" "$addr" -- "$token" distinct $(( (run - 1) * users / (rounds * nmodes) )) 1 \
      >"$work/wrk.out"
    s1=$(cpu_ticks "$pid"); t1=$(cpu_ticks "${pids[@]}")
    sleep 0.6  # pg_stat_database is updated by the backends at intervals
    c1=$(commits)
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; pid=""
    rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$work/wrk.out")
    total=$(awk '/requests in/ {print $1}' "$work/wrk.out")
    bad=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$work/wrk.out"); bad=${bad:-0}
    python3 - <<PY
hz = $(getconf CLK_TCK)
total = $total or 1
commits = $c1 - $c0
server = ($s1 - $s0) * 1000 / hz / total
pg = ($t1 - $t0) * 1000 / hz / total
print(f"| $run | $spec | $rps | $bad | {server:.3f} + {pg:.3f} = {server + pg:.3f} | {commits / $duration:.0f} | {total / max(commits, 1):.2f} |")
PY
  done
done
