#!/usr/bin/env bash
# The suspend route's denial path (400 not_active: PATCH .../usr_42/suspend on a
# suspended user, the same request every time) at 16 and 64 connections, on a
# 300,000-user database, server --threads 1. Prints req/s, p99, server CPU µs
# and context switches per request, from /proc around each wrk run. Meant for
# back-to-back pairs (a base build directory, then a new one) until run.sh has
# a suspend path of its own.
#
#   bench/load/suspend_denied.sh BUILD_DIR LABEL
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build=$1 label=$2 work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
lua="$root/bench/load/suspend_denied.lua"
$build/bench/useradmin-load-setup --db $work/db --users 300000 --secret-file $work/secret > $work/tokens 2>$work/setup.err
token=$(sed -n 's/^root=//p' $work/tokens)
$build/examples/server/useradmin-server --listen 127.0.0.1:0 --threads 1 --db $work/db --jwt-hs256-secret-file $work/secret >$work/out 2>$work/err &
pid=$!
for _ in $(seq 1 200); do addr=$(sed -n 's/^listening on \(http:\/\/[^ ]*\).*/\1/p' $work/out | head -1); [ -n "$addr" ] && break; sleep 0.05; done
wrk -t1 -c16 -d2s -s "$lua" "$addr" -- "$token" >/dev/null
hz=$(getconf CLK_TCK)
for c in 16 64; do
  t0=$(awk '{print $14+$15}' /proc/$pid/stat); x0=$(cat /proc/$pid/task/*/status | awk '/ctxt_switches/ {n+=$2} END {print n}')
  wrk -t1 -c$c -d5s --latency -s "$lua" "$addr" -- "$token" > $work/wrk$c
  t1=$(awk '{print $14+$15}' /proc/$pid/stat); x1=$(cat /proc/$pid/task/*/status | awk '/ctxt_switches/ {n+=$2} END {print n}')
  total=$(awk '/requests in/ {print $1}' $work/wrk$c); rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' $work/wrk$c)
  p99=$(awk '$1=="99%" {print $2}' $work/wrk$c); non2xx=$(awk '/Non-2xx/ {print $NF}' $work/wrk$c)
  echo "$label suspend-not_active c$c rps=$rps p99=$p99 cpu_us=$(awk -v t=$((t1-t0)) -v n=$total -v hz=$hz 'BEGIN{printf "%.1f", t*1e6/hz/n}') ctx=$(awk -v x=$((x1-x0)) -v n=$total 'BEGIN{printf "%.2f", x/n}') non2xx=$non2xx total=$total"
done
kill -TERM $pid; wait $pid 2>/dev/null || true
