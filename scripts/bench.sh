#!/usr/bin/env bash
# make bench: Herald's figures on this machine, everything (PostgreSQL at default durability,
# Redis, the receiver, the load client, Herald) sharing its cores. Prints markdown rows for
# BENCHMARKS.md. Usage: scripts/bench.sh [DRAIN_N] (default 100000); BENCH_IDLE_SECONDS (120).
# scripts/bench.sh --smoke: CI's smoke run (a few thousand deliveries: PostgreSQL and SQLite
# drains, single POSTs); no targets. Any run stops with an error on a duplicate or a missing
# delivery.
set -euo pipefail
cd "$(dirname "$0")/.."

SMOKE=; [ "${1:-}" = --smoke ] && { SMOKE=1; shift; set -- 3000; }
# scripts/bench.sh --history (make bench-history): replay and retention figures only.
HISTORY=; [ "${1:-}" = --history ] && { HISTORY=1; shift; set -- 100000; }
# scripts/bench.sh --source [N]: the source → delivered figure only.
SOURCE_ONLY=; [ "${1:-}" = --source ] && { SOURCE_ONLY=1; shift; }
N=${1:-100000}
IDLE_SECONDS=${BENCH_IDLE_SECONDS:-120}
DB=herald_bench
ADMIN="psql -h 127.0.0.1 -U postgres -qtA -d postgres"
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB
BIN=target/release/herald
LOADGEN=target/release/examples/loadgen
PORT=19191
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; pids=(); }
trap cleanup EXIT

[ -n "$SMOKE" ] || command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
cargo build --release --quiet --bin herald --example loadgen

# Continuous dispatch, tuned for throughput; every figure but idle uses it.
fast_env() {
  export DISPATCH_MODE=continuous SENDER_CONCURRENCY=${BENCH_CONCURRENCY:-128} BATCH_SIZE=500 \
    SCHEDULER_INTERVAL=1s DATABASE_POOL_SIZE=16 PRODUCER_ENABLED=false RUST_LOG=warn \
    CACHE_PREFIX=bench: WEBHOOK_URL=http://127.0.0.1:$PORT/hook LEASE_DURATION=60s \
    REDIS_URL=redis://127.0.0.1:6379
}
fresh_db() {
  $ADMIN -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
  $BIN migrate >/dev/null
}
# n: messages (events of type message), each with its delivery to default, then VACUUM ANALYZE:
# autovacuum analyses a table this size within a minute of the load, and a drain must be
# measured on the plans a running service has, not on a table without statistics (issue 15
# found a claim whose plan turned O(backlog) once the table had been analysed).
queue() {
  psql "$DATABASE_URL" -qtA -c "UPDATE dispatch_state SET active = false" \
    -c "INSERT INTO events (id, type, payload, deliveries, open) SELECT gen_random_uuid(), 'message',
        '{\"to\":\"+90555' || lpad(i::text, 7, '0') || '\",\"content\":\"benchmark message ' || i || '\"}', 1, 1
        FROM generate_series(1, $1) AS i" \
    -c "INSERT INTO deliveries (id, event_id, endpoint_id, next_attempt_at)
        SELECT gen_random_uuid(), id, '00000000-0000-0000-0000-000000000001', now() FROM events" \
    -c "VACUUM ANALYZE"
}
herald() { # instances
  for i in $(seq 1 "$1"); do LISTEN_ADDR=127.0.0.1:$((18180 + i)) $BIN serve >/dev/null 2>&1 & pids+=($!); done
  for i in $(seq 1 "$1"); do
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$((18180 + i))/health" >/dev/null && break; sleep 0.1; done
  done
}
cpu_seconds() { # pids... -> utime+stime in seconds
  local ticks; ticks=$(getconf CLK_TCK); local sum=0
  for p in "$@"; do [ -r /proc/$p/stat ] && sum=$((sum + $(awk '{print $14 + $15}' /proc/$p/stat))); done
  awk -v s=$sum -v t="$ticks" 'BEGIN { printf "%.2f", s / t }'
}
pg_pids() { pgrep -d ' ' -x postgres || pgrep -d ' ' postgres; }
# PostgreSQL's CPU: every postgres process, including backends that connect during the run.
pg_cpu() { cpu_seconds $(pg_pids); }
pg_cpu_since() { # start-file -> seconds used since, by processes alive now
  local ticks; ticks=$(getconf CLK_TCK); local sum=0
  for p in $(pg_pids); do
    local now; now=$(awk '{print $14 + $15}' /proc/$p/stat 2>/dev/null || echo 0)
    local then; then=$(awk -v p="$p" '$1 == p {print $2}' "$1"); sum=$((sum + now - ${then:-0}))
  done
  awk -v s=$sum -v t="$ticks" 'BEGIN { printf "%.2f", s / t }'
}
pg_snapshot() { for p in $(pg_pids); do echo "$p $(awk '{print $14 + $15}' /proc/$p/stat 2>/dev/null || echo 0)"; done > "$1"; }
busy_cores() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $5 + $6}' /proc/stat; } # busy idle (ticks)
commits() { $ADMIN -c "SELECT xact_commit FROM pg_stat_database WHERE datname = '$DB'"; }
json() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2], {}, d))" "$1" "$2"; }
check() { # loadgen output: a duplicate or a missing delivery stops the bench
  [ "$(json "$1" "duplicates")" = 0 ] && [ "$(json "$1" "missing")" = 0 ] ||
    { echo "duplicates or missing deliveries: $1" >&2; exit 1; }
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr), PostgreSQL $($ADMIN -c 'SHOW server_version'), fsync=$($ADMIN -c 'SHOW fsync'), synchronous_commit=$($ADMIN -c 'SHOW synchronous_commit'); commit $(git rev-parse --short HEAD)"
echo
echo "| figure | result | details |"
echo "|---|---|---|"

# Source → delivered: N entries pre-loaded in a Redis stream, read by a source (start: all),
# stored in batches of SOURCE_BATCH and drained to the default endpoint. Stored/s runs from the
# source's creation to its last entry stored; every entry must be stored once and delivered once,
# with nothing left pending in the group.
source_drain() {
  fresh_db; fast_env
  local key; key="bench:source:$(date +%s%N)"
  python3 - "$key" "$N" <<'PY' | redis-cli -h 127.0.0.1 -p 6379 --pipe >/dev/null
import sys
key, n = sys.argv[1], int(sys.argv[2])
out = sys.stdout.buffer
def arg(a):
    a = a.encode()
    return b"$%d\r\n%s\r\n" % (len(a), a)
for i in range(n):
    body = '{"n": %d, "half": %s}' % (i, "true" if i % 2 else "false")
    out.write(b"*7\r\n" + arg("XADD") + arg(key) + arg("*") + arg("type") + arg("order.created") + arg("json") + arg(body))
PY
  $LOADGEN receive --port $PORT --count "$N" > target/bench-drain.json & local rx=$!; pids+=($rx); sleep 0.3
  herald 1; local hp=("${pids[@]:1}")
  local h0 t0; h0=$(cpu_seconds "${hp[@]}"); pg_snapshot target/bench-pg.txt; t0=$(date +%s.%N)
  curl -sf -H 'content-type: application/json' -d "{\"name\": \"bench\", \"kind\": \"redis_stream\",
    \"url\": \"redis://127.0.0.1:6379\", \"stream\": \"$key\", \"start\": \"all\", \"type\": \"\$.type\",
    \"payload\": \"\$.json\"}" http://127.0.0.1:18181/sources >/dev/null
  local stored=0
  for _ in $(seq 1 6000); do
    stored=$(curl -sf http://127.0.0.1:18181/sources/bench | python3 -c 'import json,sys; print(json.load(sys.stdin)["stored"])')
    [ "$stored" -ge "$N" ] && break; sleep 0.05
  done
  local t1; t1=$(date +%s.%N)
  wait $rx
  local t2 h1 pgs; t2=$(date +%s.%N); h1=$(cpu_seconds "${hp[@]}"); pgs=$(pg_cpu_since target/bench-pg.txt)
  local out; out=$(tail -n 1 target/bench-drain.json); check "$out"
  local view; view=$(curl -sf http://127.0.0.1:18181/sources/bench)
  local pending; pending=$(redis-cli -h 127.0.0.1 -p 6379 XPENDING "$key" herald | head -n 1)
  redis-cli -h 127.0.0.1 -p 6379 DEL "$key" >/dev/null
  [ "$stored" = "$N" ] && [ "$pending" = 0 ] && [ "$(json "$view" "duplicates")" = 0 ] ||
    { echo "source drain: $stored of $N stored, $pending pending: $view" >&2; exit 1; }
  echo "| source → delivered: $N entries in a Redis stream, 1 endpoint | $(awk -v a=$t0 -v b=$t1 -v n=$N 'BEGIN{printf "%.0f", n/(b-a)}') events/s stored from the stream | delivered end to end at $(awk -v a=$t0 -v b=$t2 -v n=$N 'BEGIN{printf "%.0f", n/(b-a)}') msg/s; $(json "$out" "duplicates") duplicates, $(json "$out" "missing") missing, 0 entries read twice, 0 pending in the group; CPU: Herald $(awk -v a=$h0 -v b=$h1 -v s=$(awk -v a=$t0 -v b=$t2 'BEGIN{print b-a}') 'BEGIN{printf "%.2f", (b-a)/s}') cores, PostgreSQL $(awk -v p=$pgs -v a=$t0 -v b=$t2 'BEGIN{printf "%.2f", p/(b-a)}') cores; peak RSS $(awk '/VmHWM/ {printf "%.0f", $2/1024}' /proc/${hp[0]}/status) MiB |"
  cleanup
}
if [ -n "$SOURCE_ONLY" ]; then
  source_drain
  exit 0
fi

if [ -n "$HISTORY" ]; then
  . scripts/bench-history.sh
  exit 0
fi

# The receiver's own ceiling, measured the way Herald uses it (POST, 64 connections).
if [ -z "$SMOKE" ]; then
$LOADGEN receive --port $PORT --count 999999999 >/dev/null & pids+=($!); sleep 0.5
cat > target/bench-post.lua <<'LUA'
wrk.method = "POST"; wrk.body = '{"to":"+905551234567","content":"x"}'; wrk.headers["Content-Type"] = "application/json"
LUA
ceiling=$(wrk -t2 -c64 -d5s -s target/bench-post.lua "http://127.0.0.1:$PORT/hook" | awk '/Requests\/sec/ {printf "%.0f", $2}')
echo "| receiver ceiling (wrk, c=64) | $ceiling req/s | the load client's receiver alone |"
cleanup
fi

drain() { # instances
  fresh_db; queue "$N"; fast_env
  $LOADGEN receive --port $PORT --count "$N" > target/bench-drain.json & local rx=$!; pids+=($rx); sleep 0.3
  herald "$1"
  local hp=("${pids[@]:1}")
  local c0 h0 b0; c0=$(commits); h0=$(cpu_seconds "${hp[@]}"); pg_snapshot target/bench-pg.txt; b0=$(busy_cores)
  psql "$DATABASE_URL" -qtA -c "UPDATE dispatch_state SET active = true"
  wait $rx
  local c1 h1 pgs b1; c1=$(commits); h1=$(cpu_seconds "${hp[@]}"); pgs=$(pg_cpu_since target/bench-pg.txt); b1=$(busy_cores)
  local out; out=$(tail -n 1 target/bench-drain.json); check "$out"
  local secs; secs=$(json "$out" "seconds")
  local rss=""; for p in "${hp[@]}"; do rss+="$(awk '/VmHWM/ {printf "%.0f", $2/1024}' /proc/$p/status) "; done
  echo "| drain $N, $1 instance(s) | $(json "$out" "per_s") msg/s | $(json "$out" "duplicates") duplicates, $(json "$out" "missing") missing; CPU: Herald $(awk -v a=$h0 -v b=$h1 -v s=$secs 'BEGIN{printf "%.2f", (b-a)/s}') cores, PostgreSQL $(awk -v p=$pgs -v s=$secs 'BEGIN{printf "%.2f", p/s}') cores, machine busy $(echo "$b0 $b1" | awk -v n=$(nproc) '{printf "%.2f", ($3-$1)/(($3-$1)+($4-$2))*n}') of $(nproc) cores; $(awk -v a=$c0 -v b=$c1 -v n=$N 'BEGIN{printf "%.3f", (b-a)/n}') commits/message; peak RSS ${rss}MiB |"
  cleanup
}
drain 1
[ -n "$SMOKE" ] || drain 3

# The embedded store: an SQLite file (WAL, synchronous=FULL) and the in-memory cache. The queue
# is filled through the batch route with dispatch stopped, then dispatch starts.
SQLITE_URL=sqlite://target/bench-sqlite/herald.db
sqlite_herald() {
  rm -rf target/bench-sqlite && mkdir -p target/bench-sqlite
  fast_env; DATABASE_URL=$SQLITE_URL REDIS_URL= herald 1
}
sqlite_drain() {
  sqlite_herald; local hp=("${pids[@]}")
  curl -sf -X POST http://127.0.0.1:18181/messages/stop >/dev/null
  $LOADGEN batch --api http://127.0.0.1:18181 --count "$N" --size 1000 --concurrency 2 >/dev/null
  $LOADGEN receive --port $PORT --count "$N" > target/bench-drain.json & local rx=$!; pids+=($rx); sleep 0.3
  local h0 b0; h0=$(cpu_seconds "${hp[@]}"); b0=$(busy_cores)
  curl -sf -X POST http://127.0.0.1:18181/messages/start >/dev/null
  wait $rx
  local h1 b1; h1=$(cpu_seconds "${hp[@]}"); b1=$(busy_cores)
  local out; out=$(tail -n 1 target/bench-drain.json); check "$out"
  local secs; secs=$(json "$out" "seconds")
  echo "| drain $N, SQLite | $(json "$out" "per_s") msg/s | $(json "$out" "duplicates") duplicates, $(json "$out" "missing") missing; synchronous=FULL; CPU: Herald $(awk -v a=$h0 -v b=$h1 -v s=$secs 'BEGIN{printf "%.2f", (b-a)/s}') cores, machine busy $(echo "$b0 $b1" | awk -v n=$(nproc) '{printf "%.2f", ($3-$1)/(($3-$1)+($4-$2))*n}') of $(nproc) cores; peak RSS $(awk '/VmHWM/ {printf "%.0f", $2/1024}' /proc/${hp[0]}/status) MiB |"
  cleanup
}
sqlite_drain

source_drain

if [ -n "$SMOKE" ]; then
  fresh_db; fast_env; herald 1
  out=$($LOADGEN single --api http://127.0.0.1:18181 --port $PORT --count 2000 --concurrency 64 | tail -n 1); check "$out"
  echo "| single POST, c=64, 2,000 | $(json "$out" "ingest_per_s") req/s accepted | $(json "$out" "end_to_end_per_s") msg/s end to end; 0 duplicates, 0 missing |"
  cleanup; $ADMIN -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
  exit 0
fi

# Fan-out: 25,000 events to 4 endpoints (default, two for every type, one filtered to every other
# event), queued through the batch route with dispatch stopped, then drained.
FAN=25000
fresh_db; fast_env; export ENDPOINT_ALLOWED_NETWORKS=127.0.0.1/32; herald 1; hp=("${pids[@]}")
curl -sf -X POST http://127.0.0.1:18181/messages/stop >/dev/null
for ep in a b; do
  curl -sf -H 'content-type: application/json' -d "{\"name\": \"$ep\", \"url\": \"http://127.0.0.1:$PORT/hook/$ep\", \"max_in_flight\": 64}" http://127.0.0.1:18181/endpoints >/dev/null
done
curl -sf -H 'content-type: application/json' -d "{\"name\": \"half\", \"url\": \"http://127.0.0.1:$PORT/hook/half\", \"max_in_flight\": 64, \"filter\": {\"path\": \"\$.half\", \"op\": \"eq\", \"value\": true}}" http://127.0.0.1:18181/endpoints >/dev/null
$LOADGEN batch --api http://127.0.0.1:18181 --count $FAN --size 1000 --concurrency 2 --events >/dev/null
psql "$DATABASE_URL" -qtA -c "VACUUM ANALYZE" # the plans of an analysed table, as for the drains
want=$((FAN * 3 + FAN / 2))
$LOADGEN receive --port $PORT --count $want > target/bench-drain.json & rx=$!; pids+=($rx); sleep 0.3
h0=$(cpu_seconds "${hp[@]}"); pg_snapshot target/bench-pg.txt
curl -sf -X POST http://127.0.0.1:18181/messages/start >/dev/null
wait $rx
h1=$(cpu_seconds "${hp[@]}"); pgs=$(pg_cpu_since target/bench-pg.txt)
out=$(tail -n 1 target/bench-drain.json); check "$out"; secs=$(json "$out" "seconds")
echo "| fan-out: $FAN events → 4 endpoints (one filtered to half) = $want deliveries | $(json "$out" "per_s") deliveries/s | $(json "$out" "duplicates") duplicate (event, endpoint) pairs, $(json "$out" "missing") missing; CPU: Herald $(awk -v a=$h0 -v b=$h1 -v s=$secs 'BEGIN{printf "%.2f", (b-a)/s}') cores, PostgreSQL $(awk -v p=$pgs -v s=$secs 'BEGIN{printf "%.2f", p/s}') cores |"
cleanup; unset ENDPOINT_ALLOWED_NETWORKS

sqlite_herald
out=$($LOADGEN single --api http://127.0.0.1:18181 --port $PORT --count 20000 --concurrency 64 | tail -n 1); check "$out"
echo "| ingest + deliver, single POST, c=64, SQLite | $(json "$out" "end_to_end_per_s") msg/s end to end | $(json "$out" "ingest_per_s") req/s accepted; 201 → webhook p50 $(json "$out" "round(latency_ms['p50'],1)") ms, p99 $(json "$out" "round(latency_ms['p99'],1)") ms; $(json "$out" "duplicates") duplicates, $(json "$out" "missing") missing |"
cleanup

# Single POSTs at concurrency 64 with continuous dispatch running.
fresh_db; fast_env; herald 1
out=$($LOADGEN single --api http://127.0.0.1:18181 --port $PORT --count 20000 --concurrency 64 | tail -n 1); check "$out"
echo "| ingest + deliver, single POST, c=64 | $(json "$out" "end_to_end_per_s") msg/s end to end | $(json "$out" "ingest_per_s") req/s accepted; 201 → webhook p50 $(json "$out" "round(latency_ms['p50'],1)") ms, p99 $(json "$out" "round(latency_ms['p99'],1)") ms; $(json "$out" "duplicates") duplicates, $(json "$out" "missing") missing |"
cleanup

# Batch ingest: dispatch stopped, so only storing is measured.
fresh_db; fast_env; herald 1
psql "$DATABASE_URL" -qtA -c "UPDATE dispatch_state SET active = false"
out=$($LOADGEN batch --api http://127.0.0.1:18181 --count 200000 --size 1000 --concurrency 4 | tail -n 1)
echo "| batch ingest, 1,000 per request | $(json "$out" "stored_per_s") msg/s stored | $(json "$out" "stored") messages in $(json "$out" "round(seconds,2)") s, 4 requests in flight |"
cleanup

# Latency at steady offered loads, with the CPU Herald and its PostgreSQL spend per delivery.
steady() { # rate count
  fresh_db; fast_env; herald 1; local hp=("${pids[@]}") h0; h0=$(cpu_seconds "${hp[@]}"); pg_snapshot target/bench-pg.txt
  local out; out=$($LOADGEN single --api http://127.0.0.1:18181 --port $PORT --count "$2" --rate "$1" | tail -n 1); check "$out"
  local h1 pgs; h1=$(cpu_seconds "${hp[@]}"); pgs=$(pg_cpu_since target/bench-pg.txt)
  echo "| latency at $1 msg/s offered | p50 $(json "$out" "round(latency_ms['p50'],2)") ms, p99 $(json "$out" "round(latency_ms['p99'],2)") ms, p99.9 $(json "$out" "round(latency_ms['p999'],2)") ms | 201 → webhook, $2 messages, 0 duplicates, 0 missing; CPU per delivery: Herald $(awk -v a=$h0 -v b=$h1 -v n=$2 'BEGIN{printf "%.0f", (b-a)/n*1e6}') µs, PostgreSQL $(awk -v p=$pgs -v n=$2 'BEGIN{printf "%.0f", p/n*1e6}') µs |"
  cleanup
}
steady 1000 10000
steady 200 4000

# Idle in continuous mode: Herald and its PostgreSQL backends, nothing to deliver.
fresh_db; fast_env; herald 1; hp=("${pids[@]}"); sleep 2
i0=$(cpu_seconds "${hp[@]}"); pg_snapshot target/bench-pg.txt; sleep 30
i1=$(cpu_seconds "${hp[@]}"); pgs=$(pg_cpu_since target/bench-pg.txt)
echo "| idle, continuous mode, 30 s | Herald $(awk -v a=$i0 -v b=$i1 'BEGIN{printf "%.2f", (b-a)/30*100}') % of a core, PostgreSQL $(awk -v p=$pgs 'BEGIN{printf "%.2f", p/30*100}') % | \`SCHEDULER_INTERVAL=1s\` (the fallback poll) |"
cleanup

# Isolation: an endpoint that never answers (every attempt a WEBHOOK_TIMEOUT) with 50,000 due
# deliveries, and a healthy endpoint (default, messages only) offered 100 events/s: the healthy
# endpoint's latency from 201 to arrival must stay under 100 ms at p99.
fresh_db; fast_env; export ENDPOINT_ALLOWED_NETWORKS=127.0.0.1/32; herald 1
python3 -c 'import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 19292)); s.listen(1024); held = []
while True: held.append(s.accept())' & pids+=($!)
curl -sf -X PATCH -H 'content-type: application/json' -d '{"event_types": ["message"]}' http://127.0.0.1:18181/endpoints/default >/dev/null
curl -sf -H 'content-type: application/json' -d '{"name": "stuck", "url": "http://127.0.0.1:19292/hook", "event_types": ["stuck"]}' http://127.0.0.1:18181/endpoints >/dev/null
$LOADGEN batch --api http://127.0.0.1:18181 --count 50000 --size 1000 --concurrency 2 --events --type stuck >/dev/null
out=$($LOADGEN single --api http://127.0.0.1:18181 --port $PORT --count 3000 --rate 100 | tail -n 1); check "$out"
echo "| isolation: healthy endpoint at 100 events/s beside one timing out with 50,000 due | p50 $(json "$out" "round(latency_ms['p50'],1)") ms, p99 $(json "$out" "round(latency_ms['p99'],1)") ms | 201 → webhook, 3,000 events; $(json "$out" "duplicates") duplicates, $(json "$out" "missing") missing; bar: p99 < 100 ms |"
cleanup; unset ENDPOINT_ALLOWED_NETWORKS

# Idle at defaults (interval mode, demo producer on), against the receiver.
fresh_db
env -u DISPATCH_MODE -u SENDER_CONCURRENCY -u BATCH_SIZE -u SCHEDULER_INTERVAL -u DATABASE_POOL_SIZE \
  -u PRODUCER_ENABLED -u LEASE_DURATION WEBHOOK_URL=http://127.0.0.1:$PORT/hook RUST_LOG=warn \
  REDIS_URL=redis://127.0.0.1:6379 \
  LISTEN_ADDR=127.0.0.1:18181 $BIN serve >/dev/null 2>&1 & idle=$!; pids+=($idle)
$LOADGEN receive --port $PORT --count 999999999 >/dev/null & pids+=($!)
sleep 2; i0=$(cpu_seconds $idle); sleep "$IDLE_SECONDS"; i1=$(cpu_seconds $idle)
echo "| idle at defaults, ${IDLE_SECONDS} s | $(awk -v a=$i0 -v b=$i1 -v s=$IDLE_SECONDS 'BEGIN{printf "%.2f", (b-a)/s*100}') % of a core | RSS $(awk '/VmRSS/ {printf "%.1f", $2/1024}' /proc/$idle/status) MiB |"
cleanup
$ADMIN -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
