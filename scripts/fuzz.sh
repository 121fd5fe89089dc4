#!/usr/bin/env bash
# make fuzz: a Herald of its own (fresh database, demo receiver) fuzzed two ways:
#  1. scripts/fuzz/bad_requests.py: hand-made bad requests, each with its documented status and
#     error shape, the stored data unchanged;
#  2. schemathesis with every check against the served OpenAPI document.
# FUZZ_EXAMPLES (default 200) is schemathesis's examples per operation and phase: 200 gives
# about 1,000 cases. schemathesis is installed, pinned, into target/fuzz-venv.
set -euo pipefail
cd "$(dirname "$0")/.."

EXAMPLES=${FUZZ_EXAMPLES:-200}
SCHEMATHESIS=schemathesis==4.32.5
VENV=target/fuzz-venv
DB=herald_fuzz_$$
ADMIN_URL=postgres://postgres@127.0.0.1:5432/postgres
DB_URL=postgres://postgres@127.0.0.1:5432/$DB
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port); SINK_PORT=$(free_port)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

if ! "$VENV/bin/python" -c "import schemathesis" 2>/dev/null; then
  echo "== installing $SCHEMATHESIS into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "$SCHEMATHESIS"
fi

cargo build --quiet
BIN=target/debug/herald
psql "$ADMIN_URL" -qc "CREATE DATABASE $DB"
$BIN sink --port "$SINK_PORT" >/dev/null 2>&1 & pids+=($!)
DATABASE_URL=$DB_URL REDIS_URL=redis://127.0.0.1:6379 LISTEN_ADDR=127.0.0.1:$PORT \
  WEBHOOK_URL=http://127.0.0.1:$SINK_PORT/hook \
  CACHE_PREFIX="fuzz:$$:" PRODUCER_ENABLED=false SCHEDULER_INTERVAL=1s RUST_LOG=warn \
  $BIN serve >target/fuzz-herald.log 2>&1 & pids+=($!)
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done

# Dispatch stays stopped for the whole run, and schemathesis never calls /messages/start: an
# endpoint it manages to create (a public IP literal passes the SSRF check) must never be sent to.
curl -sf -X POST "http://127.0.0.1:$PORT/messages/stop" >/dev/null

echo "== hand-made bad requests"
python3 scripts/fuzz/bad_requests.py "http://127.0.0.1:$PORT" "$DB_URL"

echo "== schemathesis, every check, $EXAMPLES examples per operation and phase"
# use_after_free is left out on purpose: DELETE /messages/{id} cancels a message, and the
# cancelled message stays readable (its history is the audit trail), as the API documents.
# GET /stats/history runs on its own without positive_data_acceptance: its rule "at most 1,000
# buckets" ties window to bucket, which OpenAPI cannot state, so a schema-valid pair such as
# window=24h&bucket=1s is rightly refused (bad_requests.py checks those 400s).
st() { # log, args...
  local log=$1; shift
  (cd target && "../$VENV/bin/python" ../scripts/fuzz/schemathesis_run.py run \
    "http://127.0.0.1:$PORT/api-docs/openapi.json" --checks all \
    --max-examples "$EXAMPLES" --workers 2 --seed 1 --no-color "$@") | tee "target/$log" \
    | sed -n '/SUMMARY/,$p'
  # With pipefail, a finding (schemathesis exits non-zero) has already stopped the script.
  grep -q "Test cases:" "target/$log"
}
# POST and PATCH /endpoints run without positive_data_acceptance too: a schema-valid URL whose
# host does not resolve, or resolves to an internal address, is rightly refused (SSRF), and so
# is a filter or template that is valid JSON but not valid in its language. /rules runs with them:
# a rule names an endpoint that must exist (404), its offsets, zone and times are strings with a
# grammar of their own, and cancel_on may not hold event_type (tests/api/reminders_input.rs).
# /sources too: a URL needs its broker's scheme, a NATS name has no dots, a type is an event
# type or a singular path (tests/api/sources_input.rs).
# GET /events, GET /events/count and POST /replays also run without positive_data_acceptance:
# a filter that is valid JSON but not a filter, a cursor Herald did not give, `from` after
# `to`, or `mode: all` without `confirm` are rightly refused, and OpenAPI cannot state those
# rules (tests/api/search.rs and replay.rs check each of those 400s).
SEARCH='^/events(/count)?$|^/replays$'
st fuzz-schemathesis.log --exclude-checks use_after_free --exclude-path /stats/history \
  --exclude-path /messages/start --exclude-path-regex "^/endpoints|^/rules|^/sources|$SEARCH"
st fuzz-schemathesis-search.log --include-path-regex "$SEARCH" \
  --exclude-checks use_after_free,positive_data_acceptance
st fuzz-schemathesis-history.log --include-path /stats/history \
  --exclude-checks use_after_free,positive_data_acceptance
st fuzz-schemathesis-endpoints.log --include-path-regex '^/(endpoints|rules|sources)' \
  --exclude-checks use_after_free,positive_data_acceptance
test "$(curl -sf "http://127.0.0.1:$PORT/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["dispatch"])')" = inactive
test "$(curl -sf "http://127.0.0.1:$SINK_PORT/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])')" = 0
echo "fuzz: clean"
