#!/usr/bin/env bash
# make bench-compare BASE=<rev>: the same figures on two builds in one sitting, alternately
# (A, B, A, B, …), each on fresh services, and a table with both medians and the ratio B / A.
# A is BASE, built in a worktree under target/bench-base; B is the working tree. Both use the
# working tree's load client, so the client is the same on both sides.
# Usage: scripts/bench-compare.sh BASE [PAIRS] [N]; defaults 3 pairs, 50,000-delivery drains.
set -euo pipefail
cd "$(dirname "$0")/.."

BASE=${1:?usage: scripts/bench-compare.sh BASE [PAIRS] [N]}
PAIRS=${2:-3}
# The queue is filled 1,000 events per request: counts are whole thousands.
N=$(( ${3:-50000} / 1000 * 1000 )); [ "$N" -ge 4000 ] || N=4000
FAN=$(( N / 4 / 1000 * 1000 ))
DB=herald_compare
ADMIN="psql -h 127.0.0.1 -U postgres -qtA -d postgres"
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB
LOADGEN=target/release/examples/loadgen
PORT=19193
API=http://127.0.0.1:18191
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; pids=(); }
trap cleanup EXIT

base_rev=$(git rev-parse --short "$BASE")
head_rev=$(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo "+changes")
git worktree remove --force target/bench-base 2>/dev/null || rm -rf target/bench-base
git worktree add --detach --force target/bench-base "$BASE" >/dev/null 2>&1
CARGO_TARGET_DIR=target/bench-base-target cargo build --release --quiet --bin herald \
  --manifest-path target/bench-base/Cargo.toml
cargo build --release --quiet --bin herald --example loadgen
declare -A BIN=([A]=target/bench-base-target/release/herald [B]=target/release/herald)

fast_env() {
  export DISPATCH_MODE=continuous SENDER_CONCURRENCY=128 BATCH_SIZE=500 SCHEDULER_INTERVAL=1s \
    DATABASE_POOL_SIZE=16 PRODUCER_ENABLED=false RUST_LOG=warn CACHE_PREFIX=compare: \
    WEBHOOK_URL=http://127.0.0.1:$PORT/hook LEASE_DURATION=60s REDIS_URL=redis://127.0.0.1:6379 \
    ENDPOINT_ALLOWED_NETWORKS=127.0.0.1/32 LISTEN_ADDR=127.0.0.1:18191
}
fresh_db() { # side
  $ADMIN -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" 2>/dev/null
  "${BIN[$1]}" migrate >/dev/null
}
start() { # side [database url]
  DATABASE_URL=${2:-$DATABASE_URL} "${BIN[$1]}" serve >/dev/null 2>&1 & pids+=($!)
  for _ in $(seq 1 100); do curl -sf "$API/health" >/dev/null && return; sleep 0.1; done
  echo "herald ($1) did not start" >&2; exit 1
}
json() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2], {}, d))" "$1" "$2"; }
check() { # loadgen output: duplicates and missing must be 0
  [ "$(json "$1" "duplicates")" = 0 ] && [ "$(json "$1" "missing")" = 0 ] ||
    { echo "duplicates or missing: $1" >&2; exit 1; }
}
# Stop dispatch, fill through the batch route, then drain; prints deliveries per second.
drain_of() { # side count [--events] -- the endpoints are already there
  curl -sf -X POST $API/messages/stop >/dev/null
  $LOADGEN batch --api $API --count "$2" --size 1000 --concurrency 2 ${3:-} >/dev/null
}
# After a load, the statistics autovacuum would have within a minute: a drain is measured on the
# plans of an analysed table, as a running service has them (see bench.sh).
analyze() { psql "$DATABASE_URL" -qtA -c "VACUUM ANALYZE" >/dev/null; }
receive_drain() { # want
  timeout 600 $LOADGEN receive --port $PORT --count "$1" > target/compare-drain.json & local rx=$!; sleep 0.3
  curl -sf -X POST $API/messages/start >/dev/null
  wait $rx
  local out; out=$(tail -n 1 target/compare-drain.json); check "$out"; json "$out" "per_s"
}

# Each figure: one run on one side, printing one number.
fig_drain() { fresh_db "$1"; fast_env; start "$1"; drain_of "$1" "$N"; analyze; receive_drain "$N"; cleanup; }
fig_fanout() {
  fresh_db "$1"; fast_env; start "$1"
  for ep in a b; do
    curl -sf -H 'content-type: application/json' -d "{\"name\": \"$ep\", \"url\": \"http://127.0.0.1:$PORT/hook/$ep\", \"max_in_flight\": 64}" $API/endpoints >/dev/null
  done
  curl -sf -H 'content-type: application/json' -d "{\"name\": \"half\", \"url\": \"http://127.0.0.1:$PORT/hook/half\", \"max_in_flight\": 64, \"filter\": {\"path\": \"\$.half\", \"op\": \"eq\", \"value\": true}}" $API/endpoints >/dev/null
  drain_of "$1" $FAN --events; analyze
  receive_drain $((FAN * 3 + FAN / 2)); cleanup
}
fig_sqlite() {
  rm -rf target/compare-sqlite && mkdir -p target/compare-sqlite; fast_env
  REDIS_URL= start "$1" sqlite://target/compare-sqlite/herald.db
  drain_of "$1" "$N"; receive_drain "$N"; cleanup
}
single() { # side count extra-args -> loadgen output
  fresh_db "$1"; fast_env; start "$1"
  local out; out=$($LOADGEN single --api $API --port $PORT --count "$2" ${3:-} | tail -n 1)
  check "$out"; cleanup; echo "$out"
}
fig_ingest() { json "$(single "$1" 20000 "--concurrency 64")" "ingest_per_s"; }
fig_delivered() { json "$(single "$1" 20000 "--concurrency 64")" "end_to_end_per_s"; }
fig_ingest_p99() { json "$(single "$1" 20000 "--concurrency 64")" "round(latency_ms['p99'],1)"; }
fig_p99_1000() { json "$(single "$1" 10000 "--rate 1000")" "round(latency_ms['p99'],2)"; }
fig_p99_200() { json "$(single "$1" 4000 "--rate 200")" "round(latency_ms['p99'],2)"; }
# CPU seconds (user + system) of processes, and of every postgres process alive now since a
# snapshot: Herald's pool connections live through the run.
ticks() { local s=0; for p in "$@"; do [ -r /proc/$p/stat ] && s=$((s + $(awk '{print $14 + $15}' /proc/$p/stat))); done; echo $s; }
pg_snap() { for p in $(pgrep -x postgres); do echo "$p $(ticks $p)"; done > "$1"; }
pg_since() { local s=0; for p in $(pgrep -x postgres); do local then; then=$(awk -v p="$p" '$1 == p {print $2}' "$1"); s=$((s + $(ticks $p) - ${then:-0})); done; echo $s; }
fig_cpu_200() { # Herald + its PostgreSQL, µs of CPU per delivery at 200 events/s
  fresh_db "$1"; fast_env; start "$1"; local hp=${pids[0]} h0; h0=$(ticks "$hp"); pg_snap target/compare-pg.txt
  local out; out=$($LOADGEN single --api $API --port $PORT --count 4000 --rate 200 | tail -n 1); check "$out"
  local used=$(( $(ticks "$hp") - h0 + $(pg_since target/compare-pg.txt) )); cleanup
  awk -v t="$used" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.0f", t / hz / 4000 * 1e6}'
}
fig_idle() { # continuous mode, nothing to do: Herald + its PostgreSQL, % of a core over 30 s
  fresh_db "$1"; fast_env; start "$1"; sleep 2; local hp=${pids[0]} h0; h0=$(ticks "$hp"); pg_snap target/compare-pg.txt
  sleep 30; local used=$(( $(ticks "$hp") - h0 + $(pg_since target/compare-pg.txt) )); cleanup
  awk -v t="$used" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.2f", t / hz / 30 * 100}'
}

# BENCH_FIGURES="drain p99_1000" runs only those.
read -r -a FIGURES <<< "${BENCH_FIGURES:-drain fanout sqlite ingest delivered ingest_p99 p99_1000 p99_200 cpu_200 idle}"
declare -A LABEL=(
  [drain]="drain $N → 1 endpoint, PostgreSQL (deliveries/s)"
  [fanout]="drain $FAN events → 4 endpoints (deliveries/s)"
  [sqlite]="drain $N, SQLite (deliveries/s)"
  [ingest]="single POST, c=64: accepted/s"
  [delivered]="single POST, c=64: delivered end to end/s"
  [ingest_p99]="single POST, c=64: 201 → arrival p99 (ms)"
  [p99_1000]="1,000/s offered: 201 → arrival p99 (ms)"
  [p99_200]="200/s offered: 201 → arrival p99 (ms)"
  [cpu_200]="200/s offered: CPU per delivery, Herald + PostgreSQL (µs)"
  [idle]="idle, continuous: Herald + PostgreSQL (% of a core)"
)
median() { python3 -c "import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) before; $(uname -sr); PostgreSQL $($ADMIN -c 'SHOW server_version'), fsync=$($ADMIN -c 'SHOW fsync')"
echo "command: scripts/bench-compare.sh $BASE $PAIRS $N; A = $base_rev, B = $head_rev; $(date -u +%FT%TZ)"
echo
echo "| figure | A ($base_rev) runs | B ($head_rev) runs | A median | B median | B / A |"
echo "|---|---|---|---|---|---|"
for f in "${FIGURES[@]}"; do
  a=(); b=()
  for _ in $(seq 1 "$PAIRS"); do a+=("$(fig_$f A)"); b+=("$(fig_$f B)"); done
  ma=$(median "${a[@]}"); mb=$(median "${b[@]}")
  echo "| ${LABEL[$f]} | ${a[*]} | ${b[*]} | $ma | $mb | $(awk -v a="$ma" -v b="$mb" 'BEGIN{printf "%.2f", b/a}') |"
done
$ADMIN -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" 2>/dev/null
