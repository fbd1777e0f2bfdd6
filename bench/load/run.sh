#!/usr/bin/env bash
# Load test of PATCH /api/users/{id}/reactivate and the reads (GET /users/{id},
# a page of GET /users) against their ceilings, in one run.
# See docs/benchmarks.md for what it measures and how to read it.
#
#   bench/load/run.sh [--smoke] [--build-dir DIR] [--duration S] [--users N] [--threads N]
#
# --smoke: a ~5 s version (small database, one connection count, short runs)
#          that checks the pipeline works; CI runs it. Prints the same tables.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
smoke=0 build="" duration=10 users=1000000 small_users=1000 threads=$(nproc)
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) smoke=1 ;;
    --build-dir) build=$2; shift ;;
    --duration) duration=$2; shift ;;
    --users) users=$2; shift ;;
    --threads) threads=$2; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
if [ $smoke = 1 ]; then duration=1; users=20000; fi
conns_list="16 64"; [ $smoke = 1 ] && conns_list="16"

if [ -z "$build" ]; then
  "$root/scripts/install-deps"
  (cd "$root" && cmake --preset release >/dev/null &&
    cmake --build --preset release -j "$(nproc)" --target useradmin-server useradmin-ceiling-server \
      useradmin-sqlite-ceiling useradmin-load-setup >&2)
  build="$root/build/release"
fi
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
server_bin="$build/examples/server/useradmin-server"
ceiling_bin="$build/bench/useradmin-ceiling-server"
sqlite_ceiling_bin="$build/bench/useradmin-sqlite-ceiling"
setup_bin="$build/bench/useradmin-load-setup"
lua="$root/bench/load/reactivate.lua"

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# start_server NAME CMD...: runs CMD, waits for its "listening on" line, sets $addr and $pid.
start_server() {
  local name=$1; shift
  "$@" >"$work/$name.out" 2>"$work/$name.err" &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 1 200); do
    addr=$(sed -n 's/^listening on \(http:\/\/[^ ]*\).*/\1/p' "$work/$name.out" | head -1)
    [ -n "$addr" ] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "$name did not start:" >&2; cat "$work/$name.err" >&2; exit 1
}

stop_server() { kill -TERM "$1"; wait "$1" 2>/dev/null || true; }

# run_wrk LABEL URL CONNS [lua args...]: prints "label rps p50_ms p99_ms non2xx"
to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; printf "%.2f", v}'; }
run_wrk() {
  local label=$1 url=$2 conns=$3; shift 3
  local out="$work/wrk-$label.txt"
  if [ $# -gt 0 ]; then
    wrk -t1 -c"$conns" -d"${duration}s" --latency -s "$lua" "$url" -- "$@" >"$out"
  else
    wrk -t1 -c"$conns" -d"${duration}s" --latency "$url" >"$out"
  fi
  local rps p50 p99 non2xx
  rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$out")
  p50=$(awk '$1=="50%" {print $2}' "$out" | to_ms)
  p99=$(awk '$1=="99%" {print $2}' "$out" | to_ms)
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out"); non2xx=${non2xx:-0}
  total=$(awk '/requests in/ {print $1}' "$out")
  echo "$label $rps $p50 $p99 $non2xx $total"
}

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); server I/O threads: $threads; wrk -t1; ${duration}s per case" >&2

# 1. Storage ceiling: raw UPDATE+INSERT transactions on the same file system.
"$sqlite_ceiling_bin" "$work" "$([ $smoke = 1 ] && echo 0.3 || echo 3)" >"$work/sqlite-ceiling.csv"
sqlite_full_1=$(awk -F, '$1=="FULL" && $2==1 {print $3}' "$work/sqlite-ceiling.csv")
sqlite_full_16=$(awk -F, '$1=="FULL" && $2==16 {print $3}' "$work/sqlite-ceiling.csv")
sqlite_full_64=$(awk -F, '$1=="FULL" && $2==64 {print $3}' "$work/sqlite-ceiling.csv")

# 2. HTTP ceiling: the bare Beast server with the same thread count.
start_server ceiling "$ceiling_bin" --listen 127.0.0.1:0 --threads "$threads"
declare -A ceiling
for c in $conns_list; do
  read -r _ rps _ _ _ _ < <(run_wrk "ceiling-c$c" "$addr/" "$c")
  ceiling[$c]=$rps
done
stop_server "$pid"

# run_wrk_get LABEL URL CONNS TOKEN: a GET with a bearer token, same output as run_wrk.
run_wrk_get() {
  local label=$1 url=$2 conns=$3 token=$4
  local out="$work/wrk-$label.txt"
  wrk -t1 -c"$conns" -d"${duration}s" --latency -H "Authorization: Bearer $token" "$url" >"$out"
  local rps p50 p99 non2xx
  rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$out")
  p50=$(awk '$1=="50%" {print $2}' "$out" | to_ms)
  p99=$(awk '$1=="99%" {print $2}' "$out" | to_ms)
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out"); non2xx=${non2xx:-0}
  total=$(awk '/requests in/ {print $1}' "$out")
  echo "$label $rps $p50 $p99 $non2xx $total"
}

# The reads (lifecycle §5) on the same database: one user, and a 100-row page
# of suspended users first and deep into the id order (ids sort as text, so
# usr_999899 is near the end of the 1M users).
measure_reads() {  # SCALE_LABEL ADDR CONNS ROOT_TOKEN
  local scale=$1 base="$2/api" c=$3 token=$4
  run_wrk_get "$scale-getuser-c$c" "$base/users/usr_4242" "$c" "$token"
  run_wrk_get "$scale-listfirst-c$c" "$base/users?status=suspended&limit=100" "$c" "$token"
  run_wrk_get "$scale-listdeep-c$c" "$base/users?status=suspended&limit=100&after=usr_999899" "$c" "$token"
}

# 3. The endpoint at scale: one database of $users suspended users.
measure_endpoint() {  # SCALE_LABEL USERS
  local scale=$1 n=$2 db="$work/load-$1.db" secret="$work/secret"
  "$setup_bin" --db "$db" --users "$n" --secret-file "$secret" >"$work/tokens-$scale" 2>"$work/setup-$scale.err"
  local root_token support_token
  root_token=$(sed -n 's/^root=//p' "$work/tokens-$scale")
  support_token=$(sed -n 's/^support=//p' "$work/tokens-$scale")
  start_server "server-$scale" "$server_bin" --listen 127.0.0.1:0 --threads "$threads" --db "$db" \
    --jwt-hs256-secret-file "$secret"
  local offset=0
  for c in $conns_list; do
    if [ "$n" -ge 100000 ]; then
      run_wrk "$scale-reactivate-c$c" "$addr" "$c" "$root_token" distinct "$offset" 1
      offset=$((offset + n / 4))
    fi
    run_wrk "$scale-not_suspended-c$c" "$addr" "$c" "$root_token" same active
    run_wrk "$scale-forbidden-c$c" "$addr" "$c" "$support_token" denied 1
    run_wrk "$scale-badsig-c$c" "$addr" "$c" "$root_token" badsig 1
    if [ "$n" -ge 10000 ]; then measure_reads "$scale" "$addr" "$c" "$root_token"; fi
  done
  echo "$scale rss_kb $(awk '/VmHWM/ {print $2}' /proc/"$pid"/status)"
  stop_server "$pid"
}

{
  measure_endpoint large "$users"
  measure_endpoint small "$small_users"
} >"$work/results.txt"

python3 - "$work/results.txt" "$work/sqlite-ceiling.csv" "$smoke" <<PY
import sys
rows = {}
rss = {}
for line in open(sys.argv[1]):
    p = line.split()
    if p[1] == "rss_kb":
        rss[p[0]] = int(p[2]); continue
    rows[p[0]] = dict(rps=float(p[1]), p50=float(p[2]), p99=float(p[3]), non2xx=int(p[4]), total=int(p[5]))
ceiling = {$(for c in $conns_list; do printf '%s: %s, ' "$c" "${ceiling[$c]}"; done)}
sqlite = {1: $sqlite_full_1, 16: $sqlite_full_16, 64: $sqlite_full_64}
print("| path | conns | users | req/s | p50 ms | p99 ms | vs HTTP ceiling | vs SQLite FULL ceiling (batch 16 / 64) | non-2xx |")
print("|---|---|---|---|---|---|---|---|---|")
for name, r in rows.items():
    scale, path, conns = name.split("-")
    c = int(conns[1:])
    share = r["rps"] / ceiling[c] if ceiling[c] else 0
    store = f'{r["rps"]/sqlite[16]:.2f} / {r["rps"]/sqlite[64]:.2f}' if path == "reactivate" else ""
    users = "$users" if scale == "large" else "$small_users"
    print(f'| {path} | {c} | {users} | {r["rps"]:.0f} | {r["p50"]:.2f} | {r["p99"]:.2f} | {share:.2f} | {store} | {r["non2xx"]} |')
for c, v in ceiling.items():
    print(f"| bare Beast ceiling | {c} | - | {v} | | | 1.00 | | |")
print()
print(f"SQLite FULL ceiling (UPDATE+INSERT units/s): batch 1 = {sqlite[1]}, batch 16 = {sqlite[16]}, batch 64 = {sqlite[64]}")
for scale, kb in rss.items():
    print(f"server peak RSS ({scale} database): {kb/1024:.1f} MiB")
for c in ceiling:
    for path in ("not_suspended", "forbidden", "badsig"):
        a, b = rows.get(f"large-{path}-c{c}"), rows.get(f"small-{path}-c{c}")
        if a and b and b["p50"] > 0:
            print(f"scale {path} c{c}: p50 ratio large/small = {a['p50']/b['p50']:.2f}, p99 ratio = {a['p99']/max(b['p99'],0.001):.2f}")
for c in ceiling:
    first, deep = rows.get(f"large-listfirst-c{c}"), rows.get(f"large-listdeep-c{c}")
    if first and deep and first["p50"] > 0:
        print(f"user page deep/first c{c}: p50 ratio = {deep['p50']/first['p50']:.2f}, p99 ratio = {deep['p99']/max(first['p99'],0.001):.2f}")
# Sanity: the expected statuses came back (wrk counts non-2xx).
ok_paths = ("reactivate", "getuser", "listfirst", "listdeep")
bad = [n for n, r in rows.items()
       if (n.split("-")[1] in ok_paths and r["non2xx"] > 0) or (n.split("-")[1] not in ok_paths and r["non2xx"] != r["total"])]
if bad:
    print("UNEXPECTED STATUSES in: " + ", ".join(bad)); sys.exit(1)
PY
