#!/usr/bin/env bash
# Throughput, memory and duplicate check: N messages queued in PostgreSQL, delivered by one or two
# release-built Herald instances to `herald sink` on loopback. Prints one line per scenario.
# Usage: scripts/bench.sh [N] (default 20000). Needs local PostgreSQL and Redis (make services).
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-20000}
DB=herald_bench
PG="psql -h 127.0.0.1 -U postgres -qtA"
BIN=target/release/herald
SINK_PORT=19090
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

cargo build --release --quiet

scenario() { # name instances latency
  local name=$1 instances=$2 latency=$3
  $PG -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
  export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB
  $BIN migrate >/dev/null
  $PG -d $DB -c "UPDATE dispatch_state SET active = false" \
      -c "INSERT INTO messages (id, recipient, content, created_at, next_attempt_at)
          SELECT gen_random_uuid(), '+90555' || lpad(i::text, 7, '0'), 'benchmark message ' || i,
                 now() - interval '1 minute', now() - interval '1 minute'
          FROM generate_series(1, $N) AS i"

  $BIN sink --port $SINK_PORT --latency "$latency" >/dev/null 2>&1 &
  local sink=$!; pids+=("$sink")
  local herald=()
  for i in $(seq 1 "$instances"); do
    LISTEN_ADDR=127.0.0.1:$((18080 + i)) WEBHOOK_URL=http://127.0.0.1:$SINK_PORT/webhook \
      PRODUCER_ENABLED=false SCHEDULER_INTERVAL=20ms BATCH_SIZE=200 SENDER_CONCURRENCY=64 \
      DATABASE_POOL_SIZE=16 CACHE_PREFIX="bench:" RUST_LOG=warn $BIN serve >/dev/null 2>&1 &
    herald+=($!); pids+=($!)
  done
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$SINK_PORT/stats" >/dev/null && break; sleep 0.1; done
  sleep 1

  local start end sent
  start=$(date +%s.%N)
  $PG -d $DB -c "UPDATE dispatch_state SET active = true"
  while :; do
    sent=$($PG -d $DB -c "SELECT count(*) FROM messages WHERE status = 'sent'")
    [ "$sent" -ge "$N" ] && break
    sleep 0.1
  done
  end=$(date +%s.%N)
  local rss=""
  for p in "${herald[@]}"; do rss+="$(awk '/VmHWM/ {printf "%.1f", $2/1024}' /proc/$p/status) MiB "; done
  local stats; stats=$(curl -s "http://127.0.0.1:$SINK_PORT/stats")
  awk -v name="$name" -v n="$N" -v s="$start" -v e="$end" -v rss="$rss" -v stats="$stats" \
    'BEGIN { printf "%-28s %6d msgs %7.2f s %7.0f msgs/s  peak RSS: %s sink: %s\n", name, n, e - s, n / (e - s), rss, stats }'
  cleanup; pids=()
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr); N=$N"
scenario "1 instance, webhook 0 ms" 1 0ms
scenario "1 instance, webhook 20 ms" 1 20ms
scenario "2 instances, webhook 20 ms" 2 20ms
$PG -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
