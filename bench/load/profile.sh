#!/usr/bin/env bash
# CPU profile of the server under one load-test case: `perf record -g`
# (software cpu-clock, so it works in VMs without hardware counters) of the
# server process while wrk runs, plus its CPU µs and context switches per
# request from /proc. See docs/benchmarks.md ("Where the CPU goes").
#
#   bench/load/profile.sh BUILD_DIR CASE CONNS [--users N] [--duration S] [--out DIR]
#
# CASE: reactivate (distinct ids, 200) or not_suspended (same active user, 400).
# Writes DIR/perf.data and DIR/report.txt (perf report --no-children, top
# symbols) and prints "case conns req/s p99 cpu_us/req ctx/req".
# Needs perf and wrk: `scripts/install-deps linux-perf valgrind` installs
# perf (and valgrind, for the callgrind counts in docs/benchmarks.md).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build=$1 case=$2 conns=$3; shift 3
users=300000 duration=8 out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --users) users=$2; shift ;;
    --duration) duration=$2; shift ;;
    --out) out=$2; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
work=$(mktemp -d)
out=${out:-$work/out}
mkdir -p "$out"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

"$build/bench/useradmin-load-setup" --db "$work/db" --users "$users" --secret-file "$work/secret" >"$work/tokens" 2>/dev/null
token=$(sed -n 's/^root=//p' "$work/tokens")
"$build/examples/server/useradmin-server" --listen 127.0.0.1:0 --threads 1 --db "$work/db" \
  --jwt-hs256-secret-file "$work/secret" >"$work/server.out" 2>"$out/server.err" &
pid=$!
for _ in $(seq 1 400); do
  addr=$(sed -n 's/^listening on \(http:\/\/[^ ]*\).*/\1/p' "$work/server.out" | head -1)
  [ -n "$addr" ] && break
  sleep 0.05
done
[ -n "$addr" ] || { cat "$out/server.err" >&2; exit 1; }
case $case in
  reactivate) args=(distinct 0 1) ;;
  not_suspended) args=(same active) ;;
  *) echo "unknown case $case" >&2; exit 2 ;;
esac
lua="$root/bench/load/reactivate.lua"
# Warm-up (page cache, statement cache), on ids the measured run does not use.
[ "$case" = reactivate ] && args=(distinct $((users / 2)) 1)
wrk -t1 -c"$conns" -d1s -s "$lua" "$addr" -- "$token" "${args[@]}" >/dev/null
[ "$case" = reactivate ] && args=(distinct 0 1)

ctx() { cat /proc/"$pid"/task/*/status | awk '/^(non)?voluntary_ctxt_switches/ {n += $2} END {print n + 0}'; }
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
t0=$(ticks) c0=$(ctx)
perf record -F 999 -e cpu-clock -g -p "$pid" -o "$out/perf.data" -- sleep "$duration" 2>/dev/null &
perf_pid=$!
wrk -t1 -c"$conns" -d"${duration}s" --latency -s "$lua" "$addr" -- "$token" "${args[@]}" >"$out/wrk.txt"
wait "$perf_pid" || true
t1=$(ticks) c1=$(ctx)
kill -USR1 "$pid"; sleep 0.2
echo "WAL file after the run: $(stat -c %s "$work/db-wal" 2>/dev/null || echo 0) bytes"
total=$(awk '/requests in/ {print $1}' "$out/wrk.txt")
rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$out/wrk.txt")
p99=$(awk '$1=="99%" {print $2}' "$out/wrk.txt")
non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out/wrk.txt")
hz=$(getconf CLK_TCK)
awk -v c="$case" -v n="$conns" -v r="$rps" -v p="$p99" -v t=$((t1 - t0)) -v x=$((c1 - c0)) -v tot="$total" -v hz="$hz" \
  -v bad="${non2xx:-0}" 'BEGIN {printf "%s c%s: %s req/s, p99 %s, server CPU %.1f us/req, %.2f ctx switches/req, non-2xx %s of %s\n", c, n, r, p, t * 1e6 / hz / tot, x / tot, bad, tot}'
grep 'store stats' "$out/server.err" | tail -1 || true
perf report -i "$out/perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null | grep -v '^#' | grep '%' | head -60 >"$out/report.txt" || true
perf report -i "$out/perf.data" --no-children --sort comm --stdio 2>/dev/null | grep -v '^#' | grep '%' | head -10 >"$out/threads.txt" || true
