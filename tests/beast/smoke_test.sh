#!/usr/bin/env bash
# Smoke test of the example server with real curl:
#   tests/beast/smoke_test.sh PATH/TO/useradmin-server
# Starts `--demo` on 127.0.0.1:0 in a temporary directory, runs the printed
# curl commands exactly as printed, checks each status against the
# "-> expect NNN" comment above it, stops the server with SIGTERM and expects
# exit 0. Then does it all again on the existing demo directory (secret
# reused, fresh tokens, users reset), then once more over HTTPS with a
# self-signed certificate made by openssl and the metrics listener on (the
# printed commands then carry --cacert), and checks a usage error exits 2.
set -euo pipefail

server="${1:?usage: smoke_test.sh PATH/TO/useradmin-server}"
server="$(cd "$(dirname "$server")" && pwd)/$(basename "$server")"
command -v curl >/dev/null || { echo "smoke: curl is required" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/useradmin-smoke-XXXXXX")"
pid=""
cleanup() {
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

fail() {
  echo "smoke: FAILED: $*" >&2
  echo "--- server stdout" >&2; cat "$work/out.txt" >&2 || true
  echo "--- server stderr" >&2; tail -n 30 "$work/err.txt" >&2 || true
  exit 1
}

# Starts the demo server (extra arguments passed on) and waits for its
# "listening on" line.
start_demo() {
  : >"$work/out.txt"
  "$server" --demo --listen 127.0.0.1:0 "$@" >"$work/out.txt" 2>"$work/err.txt" &
  pid=$!
  for _ in $(seq 1 200); do
    if grep -Eq '^listening on https?://' "$work/out.txt"; then return 0; fi
    kill -0 "$pid" 2>/dev/null || fail "server exited early"
    sleep 0.1
  done
  fail "no 'listening on' line within 20 s"
}

# Runs every printed curl command and checks its status.
run_printed_commands() {
  local expect="" ran=0 line status
  while IFS= read -r line; do
    if [[ "$line" =~ ^#.*-\>\ expect\ ([0-9]{3})$ ]]; then
      expect="${BASH_REMATCH[1]}"
    elif [[ "$line" == curl\ * ]]; then
      [[ -n "$expect" ]] || fail "command without an expected status: $line"
      # Exactly as printed, plus options to capture the status.
      status="$(eval "$line -s -o '$work/body.json' -w '%{http_code}'")" || fail "curl failed: $line"
      [[ "$status" == "$expect" ]] || fail "expected $expect, got $status for: $line ($(cat "$work/body.json"))"
      grep -q "\"code\":$status" "$work/body.json" || fail "envelope code differs from $status: $(cat "$work/body.json")"
      ran=$((ran + 1))
      expect=""
    fi
  done <"$work/out.txt"
  [[ "$ran" -ge 5 ]] || fail "only $ran curl commands were printed"
  echo "smoke: $ran printed curl commands answered as announced"
}

stop_server() {
  kill -TERM "$pid"
  local code=0
  wait "$pid" || code=$?
  pid=""
  [[ "$code" -eq 0 ]] || fail "server exited with $code after SIGTERM"
}

# --- first run: fresh demo directory
start_demo
url="$(sed -n 's/^listening on \(http:\/\/127\.0\.0\.1:[0-9]*\)$/\1/p' "$work/out.txt")"
[[ -n "$url" ]] || fail "cannot parse the listening line"
[[ "$url" != "http://127.0.0.1:0" ]] || fail "the actual port was not printed"
# The contract's example command, with the actual address.
grep -Eq "^curl -X PATCH ${url}/api/users/usr_123456789/reactivate -H \"Authorization: Bearer [A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\"$" \
  "$work/out.txt" || fail "the contract's example curl command is missing"
grep -q '^# .*usr_c1_support.* -> expect 403$' "$work/out.txt" || fail "no support persona (403)"
[[ "$(stat -c %a useradmin-demo/jwt-secret)" == "600" ]] || fail "secret file mode is not 0600"
[[ "$(head -c 64 useradmin-demo/jwt-secret | tr -d '0-9a-f' | wc -c)" == "0" ]] || fail "secret is not hex"
secret_before="$(cat useradmin-demo/jwt-secret)"
run_printed_commands

# Headers: X-Request-Id echo, WWW-Authenticate on 401, 404 and 405 envelopes.
headers="$(curl -s -i -X PATCH "$url/api/users/usr_123456789/reactivate" -H 'X-Request-Id: smoke-1')"
grep -qi '^x-request-id: smoke-1' <<<"$headers" || fail "X-Request-Id not echoed"
grep -qi '^www-authenticate: Bearer' <<<"$headers" || fail "no WWW-Authenticate on 401"
grep -qi '^content-type: application/json' <<<"$headers" || fail "no application/json"
[[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/nope")" == "404" ]] || fail "unknown route is not 404"
[[ "$(curl -s -o /dev/null -w '%{http_code}' -X GET "$url/api/users/x/reactivate")" == "405" ]] || fail "GET is not 405"
grep -q '"path":"/api/users/usr_123456789/reactivate","status":200' "$work/err.txt" || sleep 0.3
grep -q '"status":200' "$work/err.txt" || fail "no access log line on stderr"
if grep -q 'eyJ' "$work/err.txt"; then fail "a token appears in the log"; fi
stop_server
echo "smoke: first run OK (exit 0 after SIGTERM)"

# --- second run: the existing demo directory is reused
start_demo
[[ "$(cat useradmin-demo/jwt-secret)" == "$secret_before" ]] || fail "the secret was not reused"
run_printed_commands
stop_server
echo "smoke: second run on the existing demo directory OK"

# --- third run: HTTPS (self-signed certificate) and the metrics listener
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -keyout "$work/key.pem" \
  -out "$work/cert.pem" -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost >/dev/null 2>&1 ||
  fail "openssl could not make a test certificate"
start_demo --tls-cert "$work/cert.pem" --tls-key "$work/key.pem" --metrics-listen 127.0.0.1:0
url="$(sed -n 's/^listening on \(https:\/\/127\.0\.0\.1:[0-9]*\)$/\1/p' "$work/out.txt")"
[[ -n "$url" ]] || fail "no 'listening on https://127.0.0.1:PORT' line"
grep -Eq "^curl --cacert $work/cert.pem -X PATCH ${url}/api/users/usr_123456789/reactivate -H \"Authorization: Bearer [A-Za-z0-9_.-]+\"$" \
  "$work/out.txt" || fail "the contract's example is not printed as an https curl --cacert command"
metrics="$(sed -n 's/^metrics on \(http:\/\/127\.0\.0\.1:[0-9]*\/metrics\)$/\1/p' "$work/out.txt")"
[[ -n "$metrics" ]] || fail "no 'metrics on http://127.0.0.1:PORT/metrics' line"
grep -q "^  metrics: curl $metrics\$" "$work/out.txt" || fail "the demo does not show where the metrics are"
grep -q "^  health: curl --cacert $work/cert.pem $url/healthz" "$work/out.txt" || fail "the demo does not show the probes"
run_printed_commands
scrape="$(curl -s "$metrics")"
grep -q '^useradmin_http_requests_total{route="/api/users/{id}/reactivate",method="PATCH",status="200"} ' <<<"$scrape" ||
  fail "the metrics do not count the reactivations: $scrape"
stop_server
echo "smoke: HTTPS run with curl --cacert and the metrics listener OK"

# --- usage errors exit 2
code=0
"$server" --no-such-flag >/dev/null 2>"$work/usage.txt" || code=$?
[[ "$code" -eq 2 ]] || fail "a bad flag exited $code, not 2"
grep -q "no-such-flag" "$work/usage.txt" || fail "the usage error does not name the flag"
echo "smoke: all checks passed"
