# shellcheck shell=bash
# Shared by the scripts that manage a background process (engine.sh,
# registry.sh, scripts/dockerd.sh) and by the build scripts: tagged logs,
# and stopping the process named by $pidfile. Set LOG_TAG before sourcing.

log() { printf '[%s] %s\n' "${LOG_TAG:-neosale}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Is the process in $pidfile alive?
pid_alive() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

# A free TCP port on 127.0.0.1, for a service started next.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# TERM the process in $pidfile, KILL it after $1 seconds, forget the pid.
stop_pid() {
  local grace="$1" pid
  pid="$(cat "$pidfile")"
  log "stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 "$((grace * 5))"); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    log "still running after ${grace}s, killing"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
  log "stopped"
}

# After a start: wait until the command "$1" succeeds while the process in
# $pidfile lives, at most $START_TIMEOUT seconds. If the process dies or the
# time runs out, show the log's tail, stop what was started, and die naming
# "$2": never a half-started service left behind.
wait_ready() {
  local check="$1" what="$2" deadline=$((SECONDS + START_TIMEOUT)) next_note=$((SECONDS + 30))
  until $check; do
    if ! pid_alive; then
      tail -n 20 "$logfile" >&2 || true
      rm -f "$pidfile"
      die "$what exited during start (see $logfile)"
    fi
    if ((SECONDS > deadline)); then
      tail -n 20 "$logfile" >&2 || true
      cmd_stop
      die "$what did not answer within ${START_TIMEOUT}s (see $logfile)"
    fi
    if ((SECONDS > next_note)); then
      log "still waiting for $what ($((deadline - SECONDS))s left): $(tail -n 1 "$logfile" 2>/dev/null | cut -c1-160)"
      next_note=$((SECONDS + 30))
    fi
    sleep 0.5
  done
}

# The command line every lifecycle script shares; each defines cmd_start,
# cmd_stop, cmd_status and $logfile.
lifecycle_main() {
  case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    logs) tail -n "${2:-100}" "$logfile" ;;
    *) echo "usage: $0 start|stop|status|logs [N]" >&2; exit 2 ;;
  esac
}

# The first module@version that a failed go command's output ($1) says no
# proxy in GOPROXY served (403/404/410 or "not available"); empty if none.
go_refused_module() {
  sed -nE 's/^.*[[:space:]]([a-zA-Z0-9._~/-]+@v[^: ]+): (reading|verifying) .*: (403|404|410)( .*)?$/\1/p' <<<"$1" | head -n 1
}

# Build a Go command from the module proxy once and print its path:
#   go_tool_build NAME PKG@VERSION [PATCH]
# PATCH, a shell function, edits a copy of the module's source (run in its
# root) before the build: for upstream fixes not yet released. Cached by its
# inputs, $NEOSALE_CACHE/NAME/<version>-<go version>[-<patch digest>]/bin/NAME:
# a new Go toolchain or patch builds anew, a second call is a cache hit.
# Concurrent callers wait on one build. The build's output goes to stderr.
go_tool_build() {
  local name="$1" pkg="$2" patch="${3:-}" version="${2##*@}" gover dest bin lock
  command -v go >/dev/null || PATH="/usr/local/go/bin:$PATH"
  command -v go >/dev/null || die "go is not on PATH (needed to build $name $version)"
  gover="$(GOTOOLCHAIN=local go env GOVERSION)"
  dest="$NEOSALE_CACHE/$name/$version-$gover"
  [ -z "$patch" ] || dest="$dest-$(declare -f "$patch" | sha256sum | cut -c1-12)"
  bin="$dest/bin/$name"
  if [ ! -x "$bin" ]; then
    mkdir -p "$dest"
    exec {lock}>"$dest/.lock"
    flock "$lock"
    if [ ! -x "$bin" ]; then
      log "building $pkg with $gover${patch:+ and $patch} ($(go env GOPROXY))"
      rm -rf "$dest/bin.tmp" "$dest/src"
      _go_tool_install "$dest" "$pkg" "$patch" \
        || die "could not build $pkg from the Go module proxy (GOPROXY=$(go env GOPROXY))"
      mkdir -p "$dest/bin"
      mv "$dest/bin.tmp/$name" "$bin"
      rm -rf "$dest/bin.tmp" "$dest/src"
    fi
    exec {lock}>&-
  fi
  printf '%s\n' "$bin"
}

# go install PKG@VERSION into $1/bin.tmp; with a patch, from a patched copy
# of the module (its own go.mod and go.sum) instead.
_go_tool_install() {
  local dest="$1" pkg="$2" patch="$3" dir
  local -x GOTOOLCHAIN=local GOBIN="$dest/bin.tmp" CGO_ENABLED=0
  if [ -z "$patch" ]; then
    go install -trimpath -ldflags "-s -w" "$pkg" >&2
    return
  fi
  dir="$(go mod download -json "$pkg" | sed -nE 's/^[[:space:]]*"Dir": "(.*)",?$/\1/p')"
  [ -d "$dir" ] || return 1
  cp -r "$dir" "$dest/src" && chmod -R u+w "$dest/src"
  (cd "$dest/src" && "$patch" && go install -trimpath -ldflags "-s -w" . >&2)
}
