#!/usr/bin/env bash
# The whole NEOSALE stack on loopback without Docker, for E2E runs on a dev
# machine or in CI: PostgreSQL + Redis (scripts/test-services.sh), backend,
# frontend (Next.js standalone) and Debian's nginx with the repo's nginx/ config.
#   scripts/stack-local.sh start   # prints `export BASE_URL=http://127.0.0.1:PORT`
#   scripts/stack-local.sh stop
# Typical use: eval "$(scripts/stack-local.sh start)"
# Builds backend/dist and frontend/.next when missing (npm ci + npm run build).
# State, logs and the database live under $NEOSALE_STACK_DIR; ports are
# overridable (NEOSALE_{NGINX,FRONTEND,BACKEND,PG,REDIS}_PORT) so several
# stacks can coexist. Logs go to stderr; stdout carries only the export line.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${NEOSALE_STACK_DIR:-/tmp/neosale-stack}"
NGINX_PORT="${NEOSALE_NGINX_PORT:-58080}"
FRONTEND_PORT="${NEOSALE_FRONTEND_PORT:-53000}"
BACKEND_PORT="${NEOSALE_BACKEND_PORT:-54000}"
# Not test-services.sh's defaults, so a backend integration run is left alone.
export PGPORT="${NEOSALE_PG_PORT:-55442}"
export REDIS_PORT="${NEOSALE_REDIS_PORT:-56389}"
export NEOSALE_SERVICES_DIR="$DIR/services"
BASE_URL="http://127.0.0.1:$NGINX_PORT"
START_TIMEOUT="${NEOSALE_START_TIMEOUT:-90}"

log() { echo "stack-local: $*" >&2; }
die() { log "$*"; exit 1; }

# Our children outlive this script and are reaped by PID 1, which may be slow
# to do so: a zombie counts as stopped.
running() { kill -0 "$1" 2>/dev/null && [ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" != Z ]; }
pid_alive() { [ -s "$1" ] && running "$(cat "$1")"; }

http_ok() { curl -fsS -o /dev/null --max-time 3 "$1" 2>/dev/null; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_http() { # name url pidfile logfile
  local deadline=$((SECONDS + START_TIMEOUT))
  until http_ok "$2"; do
    if [ -n "${3:-}" ] && ! pid_alive "$3"; then
      tail -n 40 "$4" >&2 || true
      die "$1 exited before answering $2 (log: $4)"
    fi
    [ "$SECONDS" -lt "$deadline" ] || { tail -n 40 "${4:-/dev/null}" >&2 || true; die "$1 did not answer $2 within ${START_TIMEOUT}s"; }
    sleep 0.5
  done
}

# Starts a long-running process detached from our stdout (callers read it
# through a pipe and would otherwise wait for EOF forever).
spawn() { # name pidfile logfile cmd...
  local name="$1" pidfile="$2" logfile="$3"; shift 3
  if pid_alive "$pidfile"; then log "$name already running (pid $(cat "$pidfile"))"; return; fi
  "$@" </dev/null >>"$logfile" 2>&1 &
  echo $! >"$pidfile"
  log "$name started (pid $!, log $logfile)"
}

stop_pid() { # name pidfile
  local pid i
  pid_alive "$2" || { rm -f "$2"; return 0; }
  pid="$(cat "$2")"
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 60); do running "$pid" || break; sleep 0.25; done
  if running "$pid"; then log "$1 ignored SIGTERM, killing"; kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$2"
  log "$1 stopped"
}

build_backend() {
  cd "$ROOT/backend"
  [ -d node_modules ] || { log "backend: npm ci"; npm ci --no-audit --no-fund >&2; }
  [ -f dist/server.js ] || { log "backend: npm run build"; npm run build >&2; }
}

build_frontend() {
  cd "$ROOT/frontend"
  if [ ! -f .next/standalone/server.js ]; then
    [ -d node_modules ] || { log "frontend: npm ci"; npm ci --no-audit --no-fund >&2; }
    log "frontend: npm run build"
    npm run build >&2
  fi
  # A private copy, completed as the frontend README describes: a rebuild in
  # frontend/ during the run cannot pull files from under the server.
  rm -rf "$DIR/frontend"
  mkdir -p "$DIR/frontend"
  cp -a .next/standalone/. "$DIR/frontend/"
  mkdir -p "$DIR/frontend/.next"
  cp -a .next/static "$DIR/frontend/.next/static"
  [ -d public ] && cp -a public "$DIR/frontend/public"
  return 0
}

start() {
  command -v curl >/dev/null || die "curl is required"
  mkdir -p "$DIR" "$DIR/logs"
  # nginx workers run as nobody and must reach their temp dirs in here.
  chmod 755 "$DIR"

  local p
  for p in "$NGINX_PORT:nginx:$DIR/nginx.pid" "$FRONTEND_PORT:frontend:$DIR/frontend.pid" "$BACKEND_PORT:backend:$DIR/backend.pid"; do
    IFS=: read -r port name pidfile <<<"$p"
    if ! pid_alive "$pidfile" && ! port_free "$port"; then
      die "port $port for $name is already in use (set NEOSALE_${name^^}_PORT)"
    fi
  done

  build_backend
  build_frontend

  eval "$("$ROOT/scripts/test-services.sh" start)"

  log "backend: applying migrations"
  (cd "$ROOT/backend" && npm run --silent migrate:apply >&2)

  # LEADS_API_TOKEN stays unset: the frontend's /leads page sends no token.
  # One client address (loopback) carries every E2E request, hence the high limit.
  spawn backend "$DIR/backend.pid" "$DIR/logs/backend.log" \
    env -u LEADS_API_TOKEN -C "$ROOT/backend" \
      NODE_ENV=production HOST=127.0.0.1 PORT="$BACKEND_PORT" \
      DATABASE_URL="$DATABASE_URL" REDIS_URL="$REDIS_URL" \
      CORS_ORIGINS="$BASE_URL" TRUST_PROXY=1 RATE_LIMIT_MAX=10000 LOG_LEVEL=info \
      node dist/server.js
  wait_http backend "http://127.0.0.1:$BACKEND_PORT/ready" "$DIR/backend.pid" "$DIR/logs/backend.log"

  spawn frontend "$DIR/frontend.pid" "$DIR/logs/frontend.log" \
    env -C "$DIR/frontend" NODE_ENV=production NEXT_TELEMETRY_DISABLED=1 \
      HOSTNAME=127.0.0.1 PORT="$FRONTEND_PORT" BACKEND_URL="http://127.0.0.1:$BACKEND_PORT" \
      node server.js
  wait_http frontend "http://127.0.0.1:$FRONTEND_PORT/api/health" "$DIR/frontend.pid" "$DIR/logs/frontend.log"

  "$ROOT/scripts/nginx-local-conf.sh" "$DIR/nginx" "127.0.0.1:$NGINX_PORT" \
    "127.0.0.1:$FRONTEND_PORT" "127.0.0.1:$BACKEND_PORT"
  "$DIR/nginx/nginx" -t -q 2>&1 | sed 's/^/nginx: /' >&2
  if pid_alive "$DIR/nginx.pid"; then
    "$DIR/nginx/nginx" -s reload
  else
    spawn nginx "$DIR/nginx.pid" "$DIR/logs/nginx.log" "$DIR/nginx/nginx"
  fi
  wait_http nginx "$BASE_URL/" "$DIR/nginx.pid" "$DIR/logs/nginx.log"
  wait_http nginx "$BASE_URL/api/health" "$DIR/nginx.pid" "$DIR/logs/nginx.log"

  log "ready at $BASE_URL"
  echo "export BASE_URL=$BASE_URL"
}

stop() {
  stop_pid nginx "$DIR/nginx.pid"
  stop_pid frontend "$DIR/frontend.pid"
  stop_pid backend "$DIR/backend.pid"
  "$ROOT/scripts/test-services.sh" stop
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
