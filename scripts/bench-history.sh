# Sourced by `scripts/bench.sh --history` (make bench-history), with its helpers: the time a
# replay's dry run takes over N sent events, the rate a replay of all of them reaches the
# receiver, and what pruning 1,000,000 old events costs a drain that runs meanwhile.

# n sent events (one delivery to default and one attempt each), created `age` ago; events
# already there keep their deliveries.
history() { # n age
  psql "$DATABASE_URL" -qtA -c "UPDATE dispatch_state SET active = false" \
    -c "INSERT INTO events (id, type, payload, deliveries, open, sent_at, created_at, updated_at)
        SELECT gen_random_uuid(), 'message', '{\"to\":\"+90555' || lpad(i::text, 7, '0') || '\",\"content\":\"old ' || i || '\"}',
               1, 0, now() - interval '$2', now() - interval '$2', now() - interval '$2'
        FROM generate_series(1, $1) AS i" \
    -c "INSERT INTO deliveries (id, event_id, endpoint_id, status, attempts, attempt_seq, next_attempt_at,
                                sent_at, created_at, updated_at)
        SELECT gen_random_uuid(), id, '00000000-0000-0000-0000-000000000001', 'sent', 1, 1, created_at,
               created_at, created_at, created_at
        FROM events e WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id)" \
    -c "INSERT INTO delivery_attempts (delivery_id, attempt, started_at, duration_ms, outcome, status_code)
        SELECT id, 1, created_at, 5, 'success', 202 FROM deliveries WHERE status = 'sent'" \
    -c "UPDATE dispatch_state SET active = true" -c "VACUUM ANALYZE"
}
post() { curl -sf -H 'content-type: application/json' -d "$2" "http://127.0.0.1:18181$1"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# BENCH_HISTORY=prune: the pruning figure only.
if [ "${BENCH_HISTORY:-}" != prune ]; then
fresh_db; history "$N" "1 hour"; fast_env; herald 1
ALL='{"endpoint": "default", "from": "2000-01-01T00:00:00Z", "mode": "all", "confirm": true, "dry_run": true}'
SOME='{"endpoint": "default", "from": "2000-01-01T00:00:00Z", "mode": "all", "confirm": true, "dry_run": true,
       "filter": {"path": "$.content", "op": "prefix", "value": "old 1"}}'
for body in "$ALL" "$SOME"; do
  times=$(for _ in 1 2 3; do curl -sf -o target/bench-dry.json -w '%{time_total}\n' -H 'content-type: application/json' -d "$body" http://127.0.0.1:18181/replays; done | median)
  count=$(python3 -c "import json; print(json.load(open('target/bench-dry.json'))['count'])")
  what=$([ "$body" = "$ALL" ] && echo "every event" || echo "a filter (prefix)")
  echo "| replay dry run over $N sent events, $what | $(awk -v t=$times 'BEGIN{printf "%.0f", t*1000}') ms (median of 3) | counted $count; in SQL, through the API |"
done
$LOADGEN receive --port $PORT --count "$N" > target/bench-drain.json & rx=$!; pids+=($rx); sleep 0.3
hp=("${pids[@]:0:1}"); h0=$(cpu_seconds "${hp[@]}"); pg_snapshot target/bench-pg.txt
post /replays "${ALL/\"dry_run\": true/\"dry_run\": false}" >/dev/null
wait $rx
h1=$(cpu_seconds "${hp[@]}"); pgs=$(pg_cpu_since target/bench-pg.txt)
out=$(tail -n 1 target/bench-drain.json); check "$out"; secs=$(json "$out" "seconds")
echo "| replay of $N events (mode all), to the receiver | $(json "$out" "per_s") deliveries/s | from the first arrival to the last; 0 duplicates, 0 missing; CPU: Herald $(awk -v a=$h0 -v b=$h1 -v s=$secs 'BEGIN{printf "%.2f", (b-a)/s}') cores, PostgreSQL $(awk -v p=$pgs -v s=$secs 'BEGIN{printf "%.2f", p/s}') cores |"
cleanup
fi

# Pruning's cost to a drain: 1,000,000 events 60 days old, and N pending; the drain with
# retention off (A) and with it pruning the old ones meanwhile (B), alternately.
OLD=${BENCH_OLD:-1000000}
pruning_drain() { # off|on
  fresh_db; queue "$N"; history "$OLD" "60 days"; fast_env
  if [ "$1" = on ]; then export EVENT_RETENTION=30d RETENTION_INTERVAL=1s; else export EVENT_RETENTION=off; fi
  $LOADGEN receive --port $PORT --count "$N" > target/bench-drain.json & local rx=$!; pids+=($rx); sleep 0.3
  herald 1
  psql "$DATABASE_URL" -qtA -c "UPDATE dispatch_state SET active = true"
  wait $rx
  local out; out=$(tail -n 1 target/bench-drain.json); check "$out"
  local left; left=$(psql "$DATABASE_URL" -qtA -c "SELECT count(*) FROM events WHERE created_at < now() - interval '30 days'")
  echo "$(json "$out" "per_s") $left"
  cleanup; unset EVENT_RETENTION RETENTION_INTERVAL
}
declare -a A B
for _ in 1 2 3; do A+=("$(pruning_drain off)"); B+=("$(pruning_drain on)"); done
a=$(printf '%s\n' "${A[@]}" | awk '{print $1}' | median); b=$(printf '%s\n' "${B[@]}" | awk '{print $1}' | median)
echo "| drain of $N beside $OLD old events: retention off | $(printf '%s\n' "${A[@]}" | awk '{printf "%s ", $1}')msg/s | median $a |"
echo "| the same, pruning them meanwhile | $(printf '%s\n' "${B[@]}" | awk '{printf "%s ", $1}')msg/s | median $b ($(awk -v a=$a -v b=$b 'BEGIN{printf "%.2f", b/a}') ×); old events left when the drain ended: $(printf '%s\n' "${B[@]}" | awk '{printf "%s ", $2}')|"
$ADMIN -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
