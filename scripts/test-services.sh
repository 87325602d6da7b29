#!/usr/bin/env bash
# Throwaway PostgreSQL 15 + Redis for local and CI integration tests.
#   scripts/test-services.sh start   # prints `export DATABASE_URL=... REDIS_URL=...`
#   scripts/test-services.sh stop
# Typical use: eval "$(scripts/test-services.sh start)"
# Everything lives under $NEOSALE_SERVICES_DIR; nothing touches system clusters.
set -euo pipefail

DIR="${NEOSALE_SERVICES_DIR:-/tmp/neosale-services}"
PGPORT="${PGPORT:-55432}"
REDIS_PORT="${REDIS_PORT:-56379}"
PGDATA="$DIR/pg"
PG_USER=neosale PG_PASSWORD=neosale PG_DB=neosale

log() { echo "test-services: $*" >&2; }

find_pg_bin() {
  local d
  for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
    [ -x "$d/pg_ctl" ] && { echo "$d"; return; }
  done
  command -v pg_ctl >/dev/null && { dirname "$(command -v pg_ctl)"; return; }
  log "pg_ctl not found (apt-get install -y postgresql)"; exit 1
}
PGBIN="$(find_pg_bin)"

# PostgreSQL refuses to run as root, so server commands run as the postgres user.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_ready() { "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PGPORT" 2>/dev/null; }
redis_ready() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; }

wait_for() { # name, check-fn
  local i
  for i in $(seq 1 100); do
    "$2" && return 0
    sleep 0.2
  done
  log "$1 did not become ready"; return 1
}

start_pg() {
  mkdir -p "$DIR"
  if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$DIR" 2>/dev/null || true; chmod 755 "$DIR"; fi
  # Throwaway data: a server that is not running starts from an empty data
  # dir, so every test run sees the committed migrations applied afresh.
  if ! pg_ready; then
    rm -rf "$PGDATA"
  fi
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    log "initdb into $PGDATA"
    local pwfile; pwfile="$(mktemp)"
    echo "$PG_PASSWORD" > "$pwfile"
    [ "$(id -u)" -eq 0 ] && chown postgres "$pwfile"
    as_pg "$PGBIN/initdb" -D "$PGDATA" -U "$PG_USER" --pwfile="$pwfile" \
      --auth=scram-sha-256 --encoding=UTF8 --no-locale >/dev/null
    rm -f "$pwfile"
  fi
  if pg_ready; then
    log "PostgreSQL already running on $PGPORT"
  else
    # fsync off: throwaway data, faster tests. Socket dir inside $DIR avoids /var/run permissions.
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$DIR/pg.log" -w -t 30 start \
      -o "-h 127.0.0.1 -p $PGPORT -k $DIR -c fsync=off -c full_page_writes=off -c synchronous_commit=off" >/dev/null
  fi
  wait_for PostgreSQL pg_ready
  # initdb's superuser is neosale; create its database once.
  if ! PGPASSWORD="$PG_PASSWORD" psql -h 127.0.0.1 -p "$PGPORT" -U "$PG_USER" -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname='$PG_DB'" | grep -q 1; then
    PGPASSWORD="$PG_PASSWORD" psql -h 127.0.0.1 -p "$PGPORT" -U "$PG_USER" -d postgres -qc "CREATE DATABASE $PG_DB" >/dev/null
  fi
}

start_redis() {
  mkdir -p "$DIR/redis"
  if redis_ready; then
    log "Redis already running on $REDIS_PORT"
  else
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes \
      --save '' --appendonly no --dir "$DIR/redis" \
      --pidfile "$DIR/redis/redis.pid" --logfile "$DIR/redis/redis.log"
  fi
  wait_for Redis redis_ready
}

stop_all() {
  if [ -s "$PGDATA/postmaster.pid" ]; then
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null || true
    log "PostgreSQL stopped"
  fi
  if redis_ready; then
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    log "Redis stopped"
  fi
}

case "${1:-}" in
  start)
    start_pg
    start_redis
    echo "export DATABASE_URL=postgresql://$PG_USER:$PG_PASSWORD@127.0.0.1:$PGPORT/$PG_DB"
    echo "export REDIS_URL=redis://127.0.0.1:$REDIS_PORT"
    ;;
  stop) stop_all ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
