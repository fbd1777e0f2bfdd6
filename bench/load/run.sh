#!/usr/bin/env bash
# Load test of PATCH /api/users/{id}/reactivate and the reads (GET /users/{id},
# a page of GET /users) against their ceilings, in one run.
# See docs/benchmarks.md for what it measures and how to read it.
#
#   bench/load/run.sh [--smoke] [--build-dir DIR] [--duration S] [--users N] [--threads N]
#                     [--paths "reactivate not_suspended ..."] [--conns "16 64"] [--large-only]
#                     [--node] [--postgres [--pg-instances "1 3"] [--pg-pool N]]
#
# --paths: run only these paths (reactivate not_suspended forbidden badsig
#          getuser listfirst listdeep); default all. --large-only skips the
#          1,000-user database (and so the scale ratios).
# --smoke: a ~5 s version (small database, one connection count, short runs)
#          that checks the pipeline works; CI runs it. Prints the same tables.
# --node:  also runs the Node reference service (bench/load/node: Fastify +
#          better-sqlite3 + jose, synchronous=NORMAL; a benchmark peer only)
#          on its own copy of each seeded database, for the reactivate and
#          not_suspended paths (as --paths/--conns select), and prints them
#          beside ours (req/s, p99, server CPU µs/req, ours / Node and
#          Node CPU / ours). First it
#          checks that both servers give the same answers (200, 400, 403, 404,
#          401; bench/load/node/compare.js) on copies of one small database.
#          Installs the locked packages with `npm ci` into BUILD/bench/load-node
#          when missing (the first time builds better-sqlite3 from source, minutes).
# --postgres: also run the same paths on PostgreSQL, on one and on several
#          instances of useradmin-server sharing one throwaway durable cluster
#          (tests/postgres/pg_cluster.sh --durable: fsync=on,
#          synchronous_commit=on, pg_stat_statements), seeded with the same
#          number of users, and print them beside the SQLite rows as ratios,
#          with the database's own time per request and commits per second.
#          --pg-instances "1 3" (default) sets the fleet sizes, --pg-pool N
#          each instance's connection pool (default 16). Several instances
#          are driven by one wrk each, in parallel, the connections split
#          over them and each reactivating its own disjoint range of users.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
smoke=0 node=0 build="" paths="" conns_opt="" large_only=0 duration=10 users=1000000 small_users=1000 threads=$(nproc)
postgres=0 pg_instances="1 3" pg_pool=16
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) smoke=1 ;;
    --build-dir) build=$2; shift ;;
    --duration) duration=$2; shift ;;
    --users) users=$2; shift ;;
    --threads) threads=$2; shift ;;
    --paths) paths=$2; shift ;;
    --conns) conns_opt=$2; shift ;;
    --large-only) large_only=1 ;;
    --node) node=1 ;;
    --postgres) postgres=1 ;;
    --pg-instances) pg_instances=$2; shift ;;
    --pg-pool) pg_pool=$2; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
if [ $smoke = 1 ]; then duration=1; users=20000; fi
conns_list="16 64"; [ $smoke = 1 ] && conns_list="16"
[ -n "$conns_opt" ] && conns_list=$conns_opt
wanted() { [ -z "$paths" ] || [[ " $paths " == *" $1 "* ]]; }

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
  : >"$work/$name.out"  # the background job opens it later; the loop below may read first
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

# Server-side cost of a run, from /proc around it: CPU ticks (utime+stime of
# every thread) and context switches (voluntary + involuntary, summed over
# the threads). With stats=1 the server is asked for its store statistics
# (SIGUSR1 prints one "store stats" line on its standard error) before and
# after, and the difference of the two lines is kept.
clk_tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ctx_switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^(non)?voluntary_ctxt_switches/ {n += $2} END {print n + 0}'; }
store_stats() {  # PID ERRFILE: prints the server's next store stats line (fields after "store stats")
  local before
  before=$(grep -c 'store stats' "$2" || true)
  kill -USR1 "$1"
  for _ in $(seq 1 100); do
    [ "$(grep -c 'store stats' "$2" || true)" -gt "$before" ] && break
    sleep 0.02
  done
  grep 'store stats' "$2" | tail -1 | sed 's/.*store stats //' | tr ' ' ';'
}
server_stats=0 server_err=""

# run_wrk LABEL URL CONNS [lua args...]: prints
# "label rps p50_ms p99_ms non2xx total cpu_ticks ctx_switches stats_before stats_after"
to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; printf "%.2f", v}'; }
measure_wrk() {  # LABEL WRK_ARGS...
  local label=$1; shift
  local out="$work/wrk-$label.txt"
  local t0 c0 s0="-" s1="-"
  [ $server_stats = 1 ] && s0=$(store_stats "$pid" "$server_err")
  t0=$(cpu_ticks "$pid"); c0=$(ctx_switches "$pid")
  wrk -t1 -d"${duration}s" --latency "$@" >"$out"
  local t1 c1
  t1=$(cpu_ticks "$pid"); c1=$(ctx_switches "$pid")
  [ $server_stats = 1 ] && s1=$(store_stats "$pid" "$server_err")
  local rps p50 p99 non2xx total
  rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$out")
  p50=$(awk '$1=="50%" {print $2}' "$out" | to_ms)
  p99=$(awk '$1=="99%" {print $2}' "$out" | to_ms)
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out"); non2xx=${non2xx:-0}
  total=$(awk '/requests in/ {print $1}' "$out")
  echo "$label $rps $p50 $p99 $non2xx $total $((t1 - t0)) $((c1 - c0)) ${s0:--} ${s1:--}"
}
run_wrk() {
  local label=$1 url=$2 conns=$3; shift 3
  if [ $# -gt 0 ]; then
    measure_wrk "$label" -c"$conns" -s "$lua" "$url" -- "$@"
  else
    measure_wrk "$label" -c"$conns" "$url"
  fi
}

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); server I/O threads: $threads; wrk -t1; ${duration}s per case" >&2

# 1. Storage ceiling: raw UPDATE+INSERT transactions on the same file system.
"$sqlite_ceiling_bin" "$work" "$([ $smoke = 1 ] && echo 0.3 || echo 3)" >"$work/sqlite-ceiling.csv"
sqlite_full_1=$(awk -F, '$1=="FULL" && $2==1 {print $3}' "$work/sqlite-ceiling.csv")
sqlite_full_16=$(awk -F, '$1=="FULL" && $2==16 {print $3}' "$work/sqlite-ceiling.csv")
sqlite_full_64=$(awk -F, '$1=="FULL" && $2==64 {print $3}' "$work/sqlite-ceiling.csv")

# 2. HTTP ceiling: the bare Beast server with the same thread count.
start_server ceiling "$ceiling_bin" --listen 127.0.0.1:0 --threads "$threads"
declare -A ceiling ceiling_p99 ceiling_cpu ceiling_ctx
for c in $conns_list; do
  read -r _ rps _ p99 _ total ticks ctx _ < <(run_wrk "ceiling-c$c" "$addr/" "$c")
  ceiling[$c]=$rps
  ceiling_p99[$c]=$p99
  ceiling_cpu[$c]=$(awk -v t="$ticks" -v n="$total" -v hz="$clk_tck" 'BEGIN {printf "%.1f", (n > 0 ? t * 1e6 / hz / n : 0)}')
  ceiling_ctx[$c]=$(awk -v x="$ctx" -v n="$total" 'BEGIN {printf "%.2f", (n > 0 ? x / n : 0)}')
done
stop_server "$pid"

# run_wrk_get LABEL URL CONNS TOKEN: a GET with a bearer token, same output as run_wrk.
run_wrk_get() {
  local label=$1 url=$2 conns=$3 token=$4
  measure_wrk "$label" -c"$conns" -H "Authorization: Bearer $token" "$url"
}

# The reads (lifecycle §5) on the same database: one user, and a 100-row page
# of suspended users first and deep into the id order (ids sort as text, so
# usr_999899 is near the end of the 1M users).
measure_reads() {  # SCALE_LABEL ADDR CONNS ROOT_TOKEN
  local scale=$1 base="$2/api" c=$3 token=$4
  wanted getuser && run_wrk_get "$scale-getuser-c$c" "$base/users/usr_4242" "$c" "$token"
  wanted listfirst && run_wrk_get "$scale-listfirst-c$c" "$base/users?status=suspended&limit=100" "$c" "$token"
  wanted listdeep && run_wrk_get "$scale-listdeep-c$c" "$base/users?status=suspended&limit=100&after=usr_999899" "$c" "$token"
  return 0
}

# The Node reference service (--node): bench/load/node, installed with
# `npm ci` into the build tree, run on its own copy of each seeded database
# (so its reactivations find the same users suspended), measured like ours.
node_dir=""
node_install() {
  command -v node >/dev/null && command -v npm >/dev/null ||
    { echo "--node needs node and npm (scripts/install-deps)" >&2; exit 1; }
  node_dir="$build/bench/load-node"
  mkdir -p "$node_dir"
  cp "$root"/bench/load/node/{package.json,package-lock.json,server.js,compare.js} "$node_dir/"
  local lock
  lock=$(sha256sum "$node_dir/package-lock.json" | cut -d' ' -f1)
  [ "$(cat "$node_dir/.installed-lock" 2>/dev/null)" = "$lock" ] && return 0
  echo "== npm ci into $node_dir (builds better-sqlite3 from source: a few minutes)" >&2
  # There is no prebuilt-binary download to fall back from here, and
  # node-gyp uses the installed node's headers rather than fetching them.
  local headers
  headers="$(dirname "$(dirname "$(command -v node)")")"
  [ -f "$headers/include/node/node.h" ] && export npm_config_nodedir="$headers"
  (cd "$node_dir" && npm_config_build_from_source=true npm ci --no-audit --no-fund >&2)
  echo "$lock" >"$node_dir/.installed-lock"
}

node_copy_db() {  # SCALE DB: the Node service's copy, taken before our server opens DB
  local f
  for f in "$2" "$2-wal"; do [ -f "$f" ] && cp "$f" "$work/node-$1.${f##*.}"; done
  return 0
}

start_node() {  # NAME DB
  start_server "$1" node "$node_dir/server.js" --listen 127.0.0.1:0 --db "$2" --jwt-hs256-secret-file "$work/secret"
}

# Same requests, same order, both servers on copies of one small database:
# status, WWW-Authenticate and body must match (compare.js lists the cases).
node_compare_answers() {
  local db="$work/compare.db" ours_addr ours_pid
  "$setup_bin" --db "$db" --users 200 --secret-file "$work/secret" >/dev/null 2>"$work/compare-setup.err"
  node "$node_dir/compare.js" prepare "$db"
  node_copy_db compare-ours "$db"
  node_copy_db compare-node "$db"
  start_server compare-ours "$server_bin" --listen 127.0.0.1:0 --threads 1 --db "$work/node-compare-ours.db" \
    --jwt-hs256-secret-file "$work/secret"
  ours_addr=$addr ours_pid=$pid
  start_node compare-node "$work/node-compare-node.db"
  node "$node_dir/compare.js" run "$ours_addr" "$addr" "$work/secret" >"$work/compare.txt" ||
    { cat "$work/compare.txt" >&2; echo "the Node service answers differently from ours" >&2; exit 1; }
  tail -1 "$work/compare.txt" >&2
  stop_server "$pid"
  stop_server "$ours_pid"
}

# The Node service on its copy of SCALE's database: the same paths, offsets
# and connection counts as ours (reactivate, not_suspended only).
measure_node() {  # SCALE USERS ROOT_TOKEN
  local scale=$1 n=$2 token=$3 offset=0
  start_node "node-$scale" "$work/node-$scale.db"
  # Unmeasured, 1 s of each path first: V8 compiles the hot path during its
  # first thousands of requests, which a short run would count against Node.
  # The reactivations take the top twentieth of the ids, which the measured
  # runs (offsets 0, n/4, ...) do not reach (if they did, their 400s would
  # show as unexpected statuses).
  wrk -t1 -c16 -d1s -s "$lua" "$addr" -- "$token" same active >/dev/null
  if [ "$n" -ge 100000 ] && wanted reactivate; then
    wrk -t1 -c16 -d1s -s "$lua" "$addr" -- "$token" distinct $((n - n / 20)) 1 >/dev/null
  fi
  for c in $conns_list; do
    if [ "$n" -ge 100000 ] && wanted reactivate; then
      run_wrk "node_$scale-reactivate-c$c" "$addr" "$c" "$token" distinct "$offset" 1
      offset=$((offset + n / 4))
    fi
    wanted not_suspended && run_wrk "node_$scale-not_suspended-c$c" "$addr" "$c" "$token" same active
  done
  echo "node_$scale rss_kb $(awk '/VmHWM/ {print $2}' /proc/"$pid"/status)"
  stop_server "$pid"
}

node_report() {  # ours beside Node, from results.txt and node-results.txt
  python3 - "$work/results.txt" "$work/node-results.txt" "$clk_tck" "$users" "$small_users" <<'PY'
import sys
hz = int(sys.argv[3])
def load(path, prefix=""):
    rows, rss = {}, {}
    for line in open(path):
        p = line.split()
        name = p[0][len(prefix):] if p[0].startswith(prefix) else p[0]
        if p[1] == "rss_kb":
            rss[name] = int(p[2]); continue
        total = int(p[5])
        rows[name] = dict(rps=float(p[1]), p99=float(p[3]), non2xx=int(p[4]), total=total,
                          cpu=int(p[6]) * 1e6 / hz / total if total else 0.0)
    return rows, rss
ours, _ = load(sys.argv[1])
node, node_rss = load(sys.argv[2], "node_")
print("Ours (synchronous=FULL) beside the Node reference service (Fastify + better-sqlite3 + jose, synchronous=NORMAL):")
# CPU per request is the steadier of the two ratios when the machine is busy:
# the two servers run a few seconds apart, under whatever load there is then.
print("| path | conns | users | ours req/s | ours p99 ms | ours CPU µs/req | Node req/s | Node p99 ms | Node CPU µs/req "
      "| ours / Node | Node CPU / ours |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
bad = []
for name, n in node.items():
    scale, path, conns = name.split("-")
    o = ours.get(name)
    if (path == "reactivate") != (n["non2xx"] == 0) or (path != "reactivate" and n["non2xx"] != n["total"]):
        bad.append(name)
    if not o:
        continue
    users = sys.argv[4] if scale == "large" else sys.argv[5]
    ratio = f'{o["rps"] / n["rps"]:.2f}×' if n["rps"] else "-"
    cpu_ratio = f'{n["cpu"] / o["cpu"]:.2f}×' if o["cpu"] else "-"
    print(f'| {path} | {conns[1:]} | {users} | {o["rps"]:.0f} | {o["p99"]:.2f} | {o["cpu"]:.1f} | '
          f'{n["rps"]:.0f} | {n["p99"]:.2f} | {n["cpu"]:.1f} | {ratio} | {cpu_ratio} |')
for scale, kb in node_rss.items():
    print(f"Node service peak RSS ({scale} database): {kb/1024:.1f} MiB")
print()
if bad:
    print("UNEXPECTED STATUSES from the Node service in: " + ", ".join(bad)); sys.exit(1)
PY
}

# 3. The endpoint at scale: one database of $users suspended users.
measure_endpoint() {  # SCALE_LABEL USERS
  local scale=$1 n=$2 db="$work/load-$1.db" secret="$work/secret"
  "$setup_bin" --db "$db" --users "$n" --secret-file "$secret" >"$work/tokens-$scale" 2>"$work/setup-$scale.err"
  [ $node = 1 ] && node_copy_db "$scale" "$db"
  local root_token support_token
  root_token=$(sed -n 's/^root=//p' "$work/tokens-$scale")
  support_token=$(sed -n 's/^support=//p' "$work/tokens-$scale")
  start_server "server-$scale" "$server_bin" --listen 127.0.0.1:0 --threads "$threads" --db "$db" \
    --jwt-hs256-secret-file "$secret"
  server_stats=1 server_err="$work/server-$scale.err"
  local offset=0
  for c in $conns_list; do
    if [ "$n" -ge 100000 ] && wanted reactivate; then
      run_wrk "$scale-reactivate-c$c" "$addr" "$c" "$root_token" distinct "$offset" 1
      offset=$((offset + n / 4))
    fi
    wanted not_suspended && run_wrk "$scale-not_suspended-c$c" "$addr" "$c" "$root_token" same active
    wanted forbidden && run_wrk "$scale-forbidden-c$c" "$addr" "$c" "$support_token" denied 1
    wanted badsig && run_wrk "$scale-badsig-c$c" "$addr" "$c" "$root_token" badsig 1
    if [ "$n" -ge 10000 ]; then measure_reads "$scale" "$addr" "$c" "$root_token"; fi
  done
  echo "$scale rss_kb $(awk '/VmHWM/ {print $2}' /proc/"$pid"/status)"
  stop_server "$pid"
  server_stats=0
  [ $node = 1 ] && measure_node "$scale" "$n" "$root_token" >>"$work/node-results.txt"
  return 0
}

if [ $node = 1 ]; then node_install; node_compare_answers; : >"$work/node-results.txt"; fi
{
  measure_endpoint large "$users"
  [ $large_only = 1 ] || measure_endpoint small "$small_users"
} >"$work/results.txt"

[ $node = 1 ] && node_report

python3 - "$work/results.txt" "$work/sqlite-ceiling.csv" "$smoke" "$clk_tck" <<PY
import sys
hz = int(sys.argv[4])

def parse_stats(text):
    """The fields of one 'store stats' line (';'-joined by the script)."""
    if text == "-":
        return None
    out = {}
    for field in text.split(";"):
        key, _, value = field.partition("=")
        if key == "batch_size":
            out[key] = [(b.split(":")[0], int(b.split(":")[1])) for b in value.split(",")]
        elif value:
            out[key] = float(value)
    return out

def stats_delta(before, after):
    if not before or not after:
        return None
    d = {k: after[k] - before[k] for k in after if k != "batch_size" and k in before}
    d["batch_size"] = [(name, a - b) for (name, a), (_, b) in zip(after["batch_size"], before["batch_size"])]
    return d

rows = {}
rss = {}
for line in open(sys.argv[1]):
    p = line.split()
    if p[1] == "rss_kb":
        rss[p[0]] = int(p[2]); continue
    total = int(p[5])
    rows[p[0]] = dict(rps=float(p[1]), p50=float(p[2]), p99=float(p[3]), non2xx=int(p[4]), total=total,
                      cpu_us=int(p[6]) * 1e6 / hz / total if total else 0.0,
                      ctx=int(p[7]) / total if total else 0.0,
                      store=stats_delta(parse_stats(p[8]), parse_stats(p[9])))
ceiling = {$(for c in $conns_list; do printf '%s: %s, ' "$c" "${ceiling[$c]}"; done)}
ceiling_p99 = {$(for c in $conns_list; do printf '%s: %s, ' "$c" "${ceiling_p99[$c]}"; done)}
ceiling_cpu = {$(for c in $conns_list; do printf '%s: %s, ' "$c" "${ceiling_cpu[$c]}"; done)}
ceiling_ctx = {$(for c in $conns_list; do printf '%s: %s, ' "$c" "${ceiling_ctx[$c]}"; done)}
sqlite = {1: $sqlite_full_1, 16: $sqlite_full_16, 64: $sqlite_full_64}
print("| path | conns | users | req/s | p50 ms | p99 ms | server CPU µs/req | ctx switches/req | mean batch | vs HTTP ceiling | vs SQLite FULL ceiling (batch 16 / 64) | non-2xx |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for name, r in rows.items():
    scale, path, conns = name.split("-")
    c = int(conns[1:])
    share = r["rps"] / ceiling[c] if ceiling[c] else 0
    store = f'{r["rps"]/sqlite[16]:.2f} / {r["rps"]/sqlite[64]:.2f}' if path == "reactivate" else ""
    users = "$users" if scale == "large" else "$small_users"
    st = r["store"]
    batch = f'{st["units"]/st["commits"]:.1f}' if st and st.get("commits") else "-"
    print(f'| {path} | {c} | {users} | {r["rps"]:.0f} | {r["p50"]:.2f} | {r["p99"]:.2f} | {r["cpu_us"]:.1f} | {r["ctx"]:.2f} | {batch} | {share:.2f} | {store} | {r["non2xx"]} |')
for c, v in ceiling.items():
    print(f"| bare Beast ceiling | {c} | - | {v} | | {ceiling_p99[c]} | {ceiling_cpu[c]} | {ceiling_ctx[c]} | | 1.00 | | |")
print()
print("Writer batches per run (units per committed transaction; counts per bucket, from the server's store stats):")
for name, r in rows.items():
    st = r["store"]
    if not st or not st.get("commits"):
        continue
    buckets = " ".join(f"{b}:{n}" for b, n in st["batch_size"] if n)
    commit_ms = st["commit_seconds_sum"] / st["commits"] * 1000
    sync_ms = st["sync_seconds_sum"] / st["commits"] * 1000
    print(f'  {name}: {st["commits"]:.0f} commits, {st["units"]:.0f} units, failed {st["failed_commits"]:.0f}; '
          f'mean commit {commit_ms:.2f} ms of which COMMIT {sync_ms:.2f} ms; batch sizes {buckets}')
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

# ---- PostgreSQL mode (--postgres) ------------------------------------------
# The same paths on PostgreSQL, on each fleet size of --pg-instances, on one
# throwaway durable cluster. Kept in its own block: it reuses start_server,
# stop_server, store_stats, cpu_ticks, ctx_switches and to_ms from above.
pg_cluster="$root/tests/postgres/pg_cluster.sh"
pgdir=""
pg_stop() { [ -z "$pgdir" ] || bash "$pg_cluster" stop "$pgdir" >/dev/null 2>&1 || true; }
pg_sql() { psql -X -q -A -t -F ' ' -h "$pgdir" -p 5432 -U useradmin -d useradmin -c "$1"; }

# CPU ticks of the whole cluster: the postmaster (with its reaped children)
# and every live child (backends, WAL writer, checkpointer, ...).
pg_ticks() {
  local pm t=0 child
  pm=$(head -1 "$pgdir/data/postmaster.pid")
  t=$(sed 's/.*) //' "/proc/$pm/stat" | awk '{print $12 + $13 + $14 + $15}')
  for child in $(pgrep -P "$pm"); do
    t=$((t + $(sed 's/.*) //' "/proc/$child/stat" 2>/dev/null | awk '{print $12 + $13}' || echo 0)))
  done
  echo "$t"
}

# The database's counters: statement time (ms) and calls since the last
# pg_stat_statements reset (its entries are updated as statements end, so
# they are exact at once), COMMITs among those calls, and the cumulative
# WAL syncs and their time (pg_stat_wal; backends report it at intervals of
# up to a second, so short runs see it late).
pg_snapshot() {
  pg_sql "SELECT (SELECT round(coalesce(sum(total_exec_time), 0)::numeric, 3) FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat%'),
                 (SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat%'),
                 (SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE upper(query) = 'COMMIT'),
                 wal_sync, round(wal_sync_time::numeric, 3) FROM pg_stat_wal"
}

# measure_pg LABEL CONNS TOKEN [LUA_ARGS...]: one case on all instances at once
# (no LUA_ARGS: a GET of $pg_get_path with the token).
# With LUA_ARGS "distinct", each wrk takes the next slice of users
# ($pg_slice ids from $pg_next_id). Prints
# "label rps p50 p99 non2xx total server_ticks ctx pg_ticks db_ms db_calls commits wal_syncs wal_sync_ms stats..."
# where p50/p99 are the worst of the instances' and stats is one
# "before>after" pair of store stats lines per instance.
measure_pg() {
  local label=$1 c=$2 token=$3; shift 3
  local n=${#pg_addrs[@]} i per extra conns_i
  local t0=0 c0=0 t1=0 c1=0 g0 g1 before after stats=()
  pg_sql "SELECT pg_stat_statements_reset()" >/dev/null
  read -r _ _ _ w0 wt0 < <(pg_snapshot)
  for i in $(seq 0 $((n - 1))); do stats[i]=$(store_stats "${pg_pids[$i]}" "$work/pg$n-$i.err"); done
  for i in $(seq 0 $((n - 1))); do
    t0=$((t0 + $(cpu_ticks "${pg_pids[$i]}"))); c0=$((c0 + $(ctx_switches "${pg_pids[$i]}")))
  done
  g0=$(pg_ticks)
  per=$((c / n)) extra=$((c % n))
  local wrk_pids=()
  for i in $(seq 0 $((n - 1))); do
    conns_i=$((per + (i < extra ? 1 : 0))); [ "$conns_i" -ge 1 ] || conns_i=1
    local args=("$@")
    if [ "${args[0]:-}" = distinct ]; then args=(distinct "$pg_next_id" 1); pg_next_id=$((pg_next_id + pg_slice)); fi
    if [ ${#args[@]} -gt 0 ]; then
      wrk -t1 -c"$conns_i" -d"${duration}s" --latency -s "$lua" "${pg_addrs[$i]}" -- "$token" "${args[@]}" >"$work/wrk-$label-$i.txt" &
    else
      wrk -t1 -c"$conns_i" -d"${duration}s" --latency -H "Authorization: Bearer $token" "${pg_addrs[$i]}$pg_get_path" \
        >"$work/wrk-$label-$i.txt" &
    fi
    wrk_pids+=($!)
  done
  for p in "${wrk_pids[@]}"; do wait "$p"; done
  for i in $(seq 0 $((n - 1))); do
    t1=$((t1 + $(cpu_ticks "${pg_pids[$i]}"))); c1=$((c1 + $(ctx_switches "${pg_pids[$i]}")))
  done
  g1=$(pg_ticks)
  read -r db_ms db_calls commits _ _ < <(pg_snapshot)
  [ $smoke = 1 ] || sleep 1.2  # let the backends report their WAL statistics
  read -r _ _ _ w1 wt1 < <(pg_snapshot)
  for i in $(seq 0 $((n - 1))); do stats[i]="${stats[$i]}>$(store_stats "${pg_pids[$i]}" "$work/pg$n-$i.err")"; done
  local rps=0 p50=0 p99=0 non2xx=0 total=0 f v
  for i in $(seq 0 $((n - 1))); do
    f="$work/wrk-$label-$i.txt"
    rps=$(awk -v a="$rps" '/^Requests\/sec:/ {printf "%.0f", a + $2}' "$f")
    v=$(awk '$1=="50%" {print $2}' "$f" | to_ms); p50=$(awk -v a="$p50" -v b="$v" 'BEGIN {print (b > a ? b : a)}')
    v=$(awk '$1=="99%" {print $2}' "$f" | to_ms); p99=$(awk -v a="$p99" -v b="$v" 'BEGIN {print (b > a ? b : a)}')
    v=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$f"); non2xx=$((non2xx + ${v:-0}))
    total=$((total + $(awk '/requests in/ {print $1}' "$f")))
  done
  echo "$label $rps $p50 $p99 $non2xx $total $((t1 - t0)) $((c1 - c0)) $((g1 - g0)) $db_ms $db_calls $commits" \
    "$((w1 - w0)) $(awk -v a="$wt0" -v b="$wt1" 'BEGIN {printf "%.3f", b - a}') ${stats[*]}"
}

measure_postgres() {
  pgdir=$(mktemp -d /tmp/useradmin-pgbench-XXXXXX)
  trap 'pg_stop; cleanup' EXIT
  USERADMIN_PG_EXTRA_OPTS="-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all -c track_wal_io_timing=on ${USERADMIN_PG_BENCH_OPTS:-}" \
    bash "$pg_cluster" start "$pgdir" --durable >/dev/null
  pg_sql "CREATE EXTENSION pg_stat_statements" >/dev/null
  local uri="postgresql:///useradmin?host=$pgdir&port=5432&user=useradmin" secret="$work/secret-pg"
  "$setup_bin" --db "$uri" --users "$users" --secret-file "$secret" >"$work/tokens-pg" 2>"$work/setup-pg.err"
  local root_token support_token
  root_token=$(sed -n 's/^root=//p' "$work/tokens-pg")
  support_token=$(sed -n 's/^support=//p' "$work/tokens-pg")
  # Every reactivation run (each conns value, each instance of each fleet)
  # gets its own slice of the users, so no user is reactivated twice; a
  # run that outgrew its slice would meet active users and show non-2xx.
  local n_conns runs=0 k
  n_conns=$(echo $conns_list | wc -w)
  for k in $pg_instances; do runs=$((runs + k * n_conns)); done
  pg_slice=$((users / runs)) pg_next_id=0
  for k in $pg_instances; do
    pg_addrs=() pg_pids=()
    for i in $(seq 0 $((k - 1))); do
      start_server "pg$k-$i" "$server_bin" --listen 127.0.0.1:0 --threads "$threads" --db "$uri" --db-pool "$pg_pool" \
        --jwt-hs256-secret-file "$secret"
      pg_addrs+=("$addr") pg_pids+=("$pid")
    done
    for c in $conns_list; do
      wanted reactivate && measure_pg "pg$k-reactivate-c$c" "$c" "$root_token" distinct
      wanted not_suspended && measure_pg "pg$k-not_suspended-c$c" "$c" "$root_token" same active
      wanted forbidden && measure_pg "pg$k-forbidden-c$c" "$c" "$support_token" denied 1
      wanted badsig && measure_pg "pg$k-badsig-c$c" "$c" "$root_token" badsig 1
      if [ "$users" -ge 10000 ]; then
        wanted getuser && pg_get_path="/api/users/usr_4242" measure_pg "pg$k-getuser-c$c" "$c" "$root_token"
        wanted listfirst && pg_get_path="/api/users?status=suspended&limit=100" measure_pg "pg$k-listfirst-c$c" "$c" "$root_token"
        wanted listdeep && pg_get_path="/api/users?status=suspended&limit=100&after=usr_999899" \
          measure_pg "pg$k-listdeep-c$c" "$c" "$root_token"
      fi
      :  # a path left out by --paths is not a failure
    done
    for p in "${pg_pids[@]}"; do stop_server "$p"; done
  done
  return 0
}

if [ $postgres = 1 ]; then
  measure_postgres >"$work/results-pg.txt"
  python3 - "$work/results.txt" "$work/results-pg.txt" "$clk_tck" "$duration" "$smoke" <<'PY'
import sys
hz, duration, smoke = int(sys.argv[3]), float(sys.argv[4]), sys.argv[5] == "1"

def stats_fields(text):
    out = {}
    for field in text.split(";"):
        key, _, value = field.partition("=")
        if key != "batch_size" and value:
            out[key] = float(value)
    return out

def stats_sum(pairs):
    """Sum over the instances of (after - before) of each store stats field."""
    total = {}
    for pair in pairs:
        before, _, after = pair.partition(">")
        b, a = stats_fields(before), stats_fields(after)
        for k in a:
            total[k] = total.get(k, 0.0) + a[k] - b.get(k, 0.0)
    return total

sqlite = {}
for line in open(sys.argv[1]):
    p = line.split()
    if p[1] == "rss_kb" or not p[0].startswith("large-"):
        continue
    _, path, conns = p[0].split("-")
    total = int(p[5])
    sqlite[(path, conns)] = dict(rps=float(p[1]), p50=float(p[2]), p99=float(p[3]), non2xx=int(p[4]), total=total,
                                 cpu=int(p[6]) * 1e6 / hz / total if total else 0.0)
pg = {}
order = []
for line in open(sys.argv[2]):
    p = line.split()
    scale, path, conns = p[0].split("-")
    total = int(p[5]) or 1
    st = stats_sum(p[14:])
    pg[(scale, path, conns)] = dict(
        rps=float(p[1]), p50=float(p[2]), p99=float(p[3]), non2xx=int(p[4]), total=int(p[5]),
        cpu_server=int(p[6]) * 1e6 / hz / total, ctx=int(p[7]) / total, cpu_pg=int(p[8]) * 1e6 / hz / total,
        db_ms=float(p[9]) / total, db_calls=int(p[10]) / total, commits=int(p[11]) / duration,
        wal_syncs=int(p[12]), wal_sync_ms=float(p[13]), store=st)
    if (path, conns) not in order:
        order.append((path, conns))
fleets = sorted({int(k[0][2:]) for k in pg})

print()
print("PostgreSQL beside SQLite (same paths and users; PostgreSQL: one durable cluster, synchronous_commit=on;")
print("N instances: one wrk each, the connections split over them; req/s summed, p50/p99 the worst instance's;")
print("CPU µs/req = useradmin-server(s) + every process of the cluster, from /proc; DB columns from pg_stat_statements / pg_stat_wal):")
print("| path | conns | store | req/s | vs SQLite | vs PG ×1 | p50 ms | p99 ms | CPU µs/req (server + PG) | of which PG | "
      "DB statement ms/req | DB statements/req | commits/s | commits per WAL sync | mean COMMIT ms | retries | pool waits/req | non-2xx |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
bad = []
for path, conns in order:
    s = sqlite.get((path, conns))
    if s:
        print(f'| {path} | {conns[1:]} | SQLite ×1 | {s["rps"]:.0f} | 1.00 | | {s["p50"]:.2f} | {s["p99"]:.2f} | {s["cpu"]:.1f} | | | | | | | | | {s["non2xx"]} |')
    base = pg.get((f"pg{fleets[0]}", path, conns))
    for k in fleets:
        r = pg.get((f"pg{k}", path, conns))
        if not r:
            continue
        vs_sqlite = f'{r["rps"] / s["rps"]:.2f}' if s and s["rps"] else "-"
        vs_one = f'{r["rps"] / base["rps"]:.2f}' if base and base["rps"] and k != fleets[0] else ""
        st = r["store"]
        commits_in_store = st.get("commits", 0)
        commit_ms = st["sync_seconds_sum"] / commits_in_store * 1000 if commits_in_store else None
        # --smoke does not wait for the backends' late WAL statistics: no ratio then.
        per_sync = r["commits"] * duration / r["wal_syncs"] if r["wal_syncs"] > 0 and r["commits"] and not smoke else None
        print(f'| {path} | {conns[1:]} | PostgreSQL ×{k} | {r["rps"]:.0f} | {vs_sqlite} | {vs_one} | {r["p50"]:.2f} | {r["p99"]:.2f} | '
              f'{r["cpu_server"] + r["cpu_pg"]:.1f} | {r["cpu_pg"]:.1f} | {r["db_ms"]:.3f} | {r["db_calls"]:.1f} | {r["commits"]:.0f} | '
              f'{"-" if per_sync is None else f"{per_sync:.1f}"} | {"-" if commit_ms is None else f"{commit_ms:.2f}"} | '
              f'{st.get("retries", 0):.0f} | {st.get("pool_waits", 0) / (r["total"] or 1):.2f} | {r["non2xx"]} |')
        ok = path in ("reactivate", "getuser", "listfirst", "listdeep")
        if (ok and r["non2xx"] > 0) or (not ok and r["non2xx"] != r["total"]):
            bad.append(f"pg{k}-{path}-{conns}")
print()
for k in fleets:
    for path, conns in order:
        r = pg.get((f"pg{k}", path, conns))
        if path != "reactivate" or not r or not r["total"]:
            continue
        print(f'PostgreSQL ×{k} reactivate {conns}: database {r["cpu_pg"]:.0f} µs CPU and {r["db_ms"]:.2f} ms statement time per request '
              f'(COMMIT\'s WAL flush not included in the latter); {r["commits"]:.0f} commits/s, {r["wal_syncs"] / duration:.0f} WAL syncs/s '
              f'({r["wal_sync_ms"] / max(r["wal_syncs"], 1):.2f} ms each); one database core would serve at most '
              f'{1e6 / r["cpu_pg"] if r["cpu_pg"] else 0:.0f} reactivations/s')
if bad:
    print("UNEXPECTED STATUSES in: " + ", ".join(bad)); sys.exit(1)
PY
fi
