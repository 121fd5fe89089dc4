#!/usr/bin/env bash
# Makes sure PostgreSQL (127.0.0.1:5432, user postgres without password), Redis
# (127.0.0.1:6379) and NATS with JetStream (127.0.0.1:4222, for the event sources' tests)
# answer, starting them when they are installed but stopped.
# With --install (CI, fresh Debian machines) it installs them first when missing.
set -euo pipefail

install=0
[ "${1:-}" = "--install" ] && install=1

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]; }
# The server's first line is INFO {...}; JetStream must be on.
nats_up() {
  timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/4222; IFS= read -r line <&3; [[ $line == *"\"jetstream\":true"* ]]' 2>/dev/null
}
wait_for() { for _ in $(seq 1 60); do "$1" && return 0; sleep 0.5; done; return 1; }

if ! pg_up; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    [ $install = 1 ] || { echo "PostgreSQL is not running and not installed (run: make services-install)"; exit 1; }
    echo "installing PostgreSQL"
    apt_install postgresql postgresql-client
  fi
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  hba=/etc/postgresql/$version/main/pg_hba.conf
  # Local development and tests connect as postgres over TCP without a password.
  if ! as_root grep -q "^host all postgres 127.0.0.1/32 trust" "$hba"; then
    as_root sed -i '1i host all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust' "$hba"
  fi
  echo "starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_for pg_up || { echo "PostgreSQL did not come up"; exit 1; }
fi

if ! redis_up; then
  if ! command -v redis-server >/dev/null 2>&1; then
    [ $install = 1 ] || { echo "Redis is not running and not installed (run: make services-install)"; exit 1; }
    echo "installing Redis"
    apt_install redis-server
  fi
  echo "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  wait_for redis_up || { echo "Redis did not come up"; exit 1; }
fi

if ! nats_up; then
  if ! command -v nats-server >/dev/null 2>&1; then
    [ $install = 1 ] || { echo "NATS is not running and not installed (run: make services-install)"; exit 1; }
    echo "installing NATS"
    apt_install nats-server
  fi
  echo "starting NATS with JetStream"
  store=${TMPDIR:-/tmp}/herald-nats
  mkdir -p "$store"
  setsid nats-server -js -a 127.0.0.1 -p 4222 -sd "$store" >/dev/null 2>&1 < /dev/null &
  wait_for nats_up || { echo "NATS did not come up (is something else on 4222?)"; exit 1; }
fi

# The database `make run` uses by default.
psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'herald'" | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE herald"
echo "PostgreSQL, Redis and NATS are up"
