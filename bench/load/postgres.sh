#!/usr/bin/env bash
# PostgreSQL mode of the load test: PATCH /api/users/{id}/reactivate over
# distinct suspended users on SQLite (one server), on PostgreSQL with one
# server instance, and on PostgreSQL with three instances on the same
# database, in one run, as ratios. The cluster is a throwaway one
# (tests/postgres/pg_cluster.sh --durable: fsync=on, synchronous_commit=on)
# with pg_stat_statements, so the run also reports the database's own time
# per request and its commits per second. See docs/benchmarks.md.
#
#   bench/load/postgres.sh [--build-dir DIR] [--duration S] [--users N] [--conns N] [--threads N]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="" duration=10 users=100000 conns=48 threads=2
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build=$2; shift ;;
    --duration) duration=$2; shift ;;
    --users) users=$2; shift ;;
    --conns) conns=$2; shift ;;
    --threads) threads=$2; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
if [ -z "$build" ]; then
  "$root/scripts/install-deps"
  (cd "$root" && cmake --preset release >/dev/null &&
    cmake --build --preset release -j "$(nproc)" --target useradmin-server useradmin-load-setup >&2)
  build="$root/build/release"
fi
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
server_bin="$build/examples/server/useradmin-server"
setup_bin="$build/bench/useradmin-load-setup"
lua="$root/bench/load/reactivate.lua"
cluster="$root/tests/postgres/pg_cluster.sh"

work=$(mktemp -d)
pgdir=$(mktemp -d /tmp/useradmin-pgbench-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  bash "$cluster" stop "$pgdir" || true
  rm -rf "$work"
}
trap cleanup EXIT

USERADMIN_PG_EXTRA_OPTS="-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all ${USERADMIN_PG_BENCH_OPTS:-}" \
  bash "$cluster" start "$pgdir" --durable >/dev/null
psql_() { psql -X -q -A -t -h "$pgdir" -p 5432 -U useradmin -d useradmin -c "$1"; }
psql_ "CREATE EXTENSION pg_stat_statements" >/dev/null
uri="postgresql:///useradmin?host=$pgdir&port=5432&user=useradmin"

# start_server NAME CMD...: runs CMD, waits for its "listening on" line, sets $addr and $pid.
start_server() {
  local name=$1; shift
  "$@" >"$work/$name.out" 2>"$work/$name.err" &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 1 400); do
    addr=$(sed -n 's/^listening on \(http:\/\/[^ ]*\).*/\1/p' "$work/$name.out" | head -1)
    [ -n "$addr" ] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "$name did not start:" >&2; cat "$work/$name.err" >&2; exit 1
}

# wrk_rps URL CONNS TOKEN OFFSET: requests/s and non-2xx count of one run.
wrk_run() {
  local url=$1 c=$2 token=$3 offset=$4 out
  out=$(mktemp -p "$work")
  wrk -t1 -c"$c" -d"${duration}s" --latency -s "$lua" "$url" -- "$token" distinct "$offset" 1 >"$out"
  local rps non2xx total
  rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$out")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out"); non2xx=${non2xx:-0}
  total=$(awk '/requests in/ {print $1}' "$out")
  p50=$(awk '$1=="50%" {print $2}' "$out")
  echo "$rps $non2xx $total $p50"
}

server_args=(--listen 127.0.0.1:0 --threads "$threads" --jwt-hs256-secret-file "$work/secret" --access-log off)

# SQLite, one server.
"$setup_bin" --db "$work/load.db" --users "$users" --secret-file "$work/secret" >"$work/tokens-sqlite" 2>/dev/null
token=$(sed -n 's/^root=//p' "$work/tokens-sqlite")
start_server sqlite "$server_bin" "${server_args[@]}" --db "$work/load.db"
read -r sqlite_rps sqlite_bad sqlite_total sqlite_p50 < <(wrk_run "$addr" "$conns" "$token" 0)
kill -TERM "$pid"; wait "$pid" 2>/dev/null || true

# PostgreSQL: one database, seeded once.
"$setup_bin" --db "$uri" --users "$users" --secret-file "$work/secret" >"$work/tokens-pg" 2>/dev/null
token=$(sed -n 's/^root=//p' "$work/tokens-pg")

# db_stats: database statement time (ms) and commits since the last reset.
reset_stats() { psql_ "SELECT pg_stat_statements_reset(); SELECT pg_stat_reset();" >/dev/null; }
db_stats() {
  psql_ "SELECT round(sum(total_exec_time)::numeric, 1) FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat%'" | tr -d ' '
  psql_ "SELECT xact_commit FROM pg_stat_database WHERE datname = 'useradmin'" | tr -d ' '
}

# One instance.
start_server pg1 "$server_bin" "${server_args[@]}" --db "$uri" --db-pool 16
reset_stats
read -r pg1_rps pg1_bad pg1_total pg1_p50 < <(wrk_run "$addr" "$conns" "$token" 0)
sleep 0.5  # pg_stat_database is updated by the backends at intervals
mapfile -t s1 < <(db_stats)
kill -TERM "$pid"; wait "$pid" 2>/dev/null || true

# Three instances on the same database, a third of the connections each,
# each on its own range of users.
addrs=()
for i in 0 1 2; do
  start_server "pg3-$i" "$server_bin" "${server_args[@]}" --db "$uri" --db-pool 16
  addrs+=("$addr")
done
reset_stats
per=$((conns / 3))
for i in 0 1 2; do
  wrk_run "${addrs[$i]}" "$per" "$token" $(( (i + 1) * users / 4 )) >"$work/pg3-$i.res" &
done
wait_pids=$(jobs -p | tail -3)
for p in $wait_pids; do wait "$p" || true; done
sleep 0.5
mapfile -t s3 < <(db_stats)
pg3_rps=0 pg3_bad=0 pg3_total=0
for i in 0 1 2; do
  read -r r b t _ <"$work/pg3-$i.res"
  pg3_rps=$((pg3_rps + r)); pg3_bad=$((pg3_bad + b)); pg3_total=$((pg3_total + t))
done

python3 - <<PY
d = $duration
rows = [("sqlite, 1 instance", $sqlite_rps, $sqlite_bad, None, None),
        ("postgresql, 1 instance", $pg1_rps, $pg1_bad, ${s1[0]:-0}, ${s1[1]:-0}),
        ("postgresql, 3 instances", $pg3_rps, $pg3_bad, ${s3[0]:-0}, ${s3[1]:-0})]
totals = {"postgresql, 1 instance": $pg1_total, "postgresql, 3 instances": $pg3_total}
print(f"reactivations of distinct users, {$conns} connections, {d} s each, {$users} users, $(nproc) cores")
print("| store | req/s | vs SQLite | non-2xx | DB statement ms / request | DB commits/s |")
print("|---|---|---|---|---|---|")
for name, rps, bad, ms, commits in rows:
    ratio = rps / $sqlite_rps if $sqlite_rps else 0
    if ms is None:
        print(f"| {name} | {rps} | 1.00 | {bad} | | |")
    else:
        n = totals[name] or 1
        print(f"| {name} | {rps} | {ratio:.2f} | {bad} | {ms / n:.3f} | {commits / d:.0f} |")
PY
