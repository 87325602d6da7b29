#!/usr/bin/env bash
# What delivery.yml and rollback.yml reach on GitHub, on this machine, for a
# rehearsal with scripts/rehearse.sh:
#
#   scripts/rehearsal-world.sh start DIR   start it; print the variables for rehearse.sh
#   scripts/rehearsal-world.sh stop DIR    stop it, remove both targets' containers and volumes
#
# - "ghcr": Debian's docker-registry behind htpasswd on 127.0.0.1 (a free
#   port). Its password is the rehearsal's GITHUB_TOKEN, its user the actor,
#   as ghcr.io takes github.actor and github.token.
# - The deploy host: this machine's docker engine behind an sshd of its own
#   (throwaway host and client keys, key login only) on the address the
#   engine's containers reach this machine by (the default route's source,
#   or NEOSALE_REHEARSAL_HOST_ADDR): DEPLOY_DOCKER_HOST=ssh://USER@ADDR:PORT.
# - Staging and production: two targets on that engine. One engine has one
#   port 80, so the rehearsal's checkout gets deploy/staging.toml and
#   deploy/production.toml with their own router ports (the overlay below);
#   each gets its PostgreSQL and Redis from `neosale_deploy setup`.
# - The approver a reviewer would be on GitHub (the approvals API exists
#   only there): vars.REHEARSAL_APPROVER.
#
# DIR receives secrets.env and vars.env (act's --secret-file/--var-file,
# mode 0600, never printed), overlay/ (files copied over the checkout) and
# the logs. `start` prints NEOSALE_REHEARSAL_SECRETS, NEOSALE_REHEARSAL_VARS,
# NEOSALE_REHEARSAL_OVERLAY and the two URLs as KEY=VALUE lines for eval.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOG_TAG=rehearsal-world
# shellcheck source=airgap/lib.sh
. "$root/airgap/lib.sh"

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ "$#" -eq 2 ] || usage
cmd="$1"
mkdir -p "$2"
dir="$(cd "$2" && pwd)"
ACTOR=neosale-bot
APPROVER=release-manager
STAGING_PORTS=(18080 18081)
PRODUCTION_PORTS=(19080 19081)

host_addr() {
  local addr="${NEOSALE_REHEARSAL_HOST_ADDR:-}"
  [ -n "$addr" ] || addr="$(ip -4 route get 1.1.1.1 2>/dev/null | sed -nE 's/.* src ([0-9.]+).*/\1/p')"
  [ -n "$addr" ] || die "no default route: set NEOSALE_REHEARSAL_HOST_ADDR to an address of this machine the engine's containers reach"
  echo "$addr"
}
wait_tcp() {  # host port what pidfile
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
    kill -0 "$(cat "$4")" 2>/dev/null || die "$3 exited; see its log in $dir"
    sleep 0.1
  done
  die "$3 does not listen on $1:$2; see its log in $dir"
}

start_registry() {
  local port password
  port="$(free_port)"
  password="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
  "$root/.venv/bin/python" -c 'import bcrypt, sys; print(sys.argv[1] + ":" + bcrypt.hashpw(sys.argv[2].encode(), bcrypt.gensalt(rounds=4)).decode())' \
    "$ACTOR" "$password" >"$dir/htpasswd"
  cat >"$dir/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/registry-data
http:
  addr: 127.0.0.1:$port
auth:
  htpasswd:
    realm: neosale-rehearsal
    path: $dir/htpasswd
EOF
  setsid docker-registry serve "$dir/registry.yml" >"$dir/registry.log" 2>&1 </dev/null &
  echo $! >"$dir/registry.pid"
  wait_tcp 127.0.0.1 "$port" "docker-registry" "$dir/registry.pid"
  echo "127.0.0.1:$port" >"$dir/registry.addr"
  echo "$password" >"$dir/registry.password"
}

start_sshd() {
  local addr="$1" port
  port="$(free_port)"
  rm -f "$dir"/{host,client}_key{,.pub}
  ssh-keygen -q -t ed25519 -N "" -C rehearsal-host -f "$dir/host_key"
  ssh-keygen -q -t ed25519 -N "" -C rehearsal-deployer -f "$dir/client_key"
  install -m 600 "$dir/client_key.pub" "$dir/authorized_keys"
  cat >"$dir/sshd_config" <<EOF
Port $port
ListenAddress $addr
HostKey $dir/host_key
AuthorizedKeysFile $dir/authorized_keys
PidFile none
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
AllowUsers $(id -un)
UsePAM no
StrictModes no
EOF
  mkdir -p /run/sshd  # its privilege separation directory (Debian's unit makes it)
  setsid /usr/sbin/sshd -D -e -f "$dir/sshd_config" >"$dir/sshd.log" 2>&1 </dev/null &
  echo $! >"$dir/sshd.pid"
  wait_tcp "$addr" "$port" "sshd" "$dir/sshd.pid"
  echo "[$addr]:$port $(cut -d' ' -f1,2 "$dir/host_key.pub")" >"$dir/known_hosts"
  echo "ssh://$(id -un)@$addr:$port" >"$dir/docker-host"
}

# The target file with the rehearsal's router ports; everything else as committed.
target_overlay() {  # environment live preview
  mkdir -p "$dir/overlay/deploy"
  sed -E "s/^router_port = .*/router_port = $2/; s/^preview_port = .*/preview_port = $3/" \
    "$root/deploy/$1.toml" >"$dir/overlay/deploy/$1.toml"
}

# KEY=VALUE for act's --secret-file: a value spanning lines in double quotes, \n escaped.
dotenv() { printf '%s="%s"\n' "$1" "$(sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' "$2" | awk '{printf "%s\\n", $0}')"; }

cmd_start() {
  local addr
  addr="$(host_addr)"
  # shellcheck source=airgap/env.sh
  . "$root/airgap/env.sh"
  bash "$root/scripts/dockerd.sh" start
  pidfile="$dir/registry.pid" pid_alive || start_registry
  pidfile="$dir/sshd.pid" pid_alive || start_sshd "$addr"
  target_overlay staging "${STAGING_PORTS[@]}"
  target_overlay production "${PRODUCTION_PORTS[@]}"
  [ -f "$dir/db.password" ] || python3 -c 'import secrets; print(secrets.token_hex(16))' >"$dir/db.password"
  printf 'backend:DATABASE_URL=postgresql://neosale:%s@postgres:5432/neosale\nbackend:REDIS_URL=redis://redis:6379\n' \
    "$(cat "$dir/db.password")" >"$dir/app.env"
  chmod 600 "$dir/app.env"
  for environment in staging production; do
    "$root/.venv/bin/python" -m neosale_deploy setup --config "$dir/overlay/deploy/$environment.toml" \
      --host unix:///var/run/docker.sock --env-file "$dir/app.env" \
      --router-image "$(image_of nginx)" --postgres-image "$(image_of postgres)" --redis-image "$(image_of redis)" >"$dir/setup-$environment.log" 2>&1 \
      || die "setup of $environment failed: $(tail -n 5 "$dir/setup-$environment.log")"
  done
  (
    umask 077
    {
      echo "GITHUB_TOKEN=$(cat "$dir/registry.password")"
      echo "DEPLOY_DOCKER_HOST=$(cat "$dir/docker-host")"
      dotenv DEPLOY_SSH_KEY "$dir/client_key"
      dotenv DEPLOY_SSH_KNOWN_HOSTS "$dir/known_hosts"
      dotenv APP_ENV "$dir/app.env"
    } >"$dir/secrets.env"
    {
      echo "REGISTRY=$(cat "$dir/registry.addr")/neosale"
      echo "STAGING_URL=http://$addr:${STAGING_PORTS[0]}"
      echo "PRODUCTION_URL=http://$addr:${PRODUCTION_PORTS[0]}"
      echo "REHEARSAL_APPROVER=$APPROVER"
    } >"$dir/vars.env"
  )
  log "up: ghcr $(cat "$dir/registry.addr") (user $ACTOR), deploy host $(cat "$dir/docker-host")"
  echo "NEOSALE_REHEARSAL_SECRETS=$dir/secrets.env"
  echo "NEOSALE_REHEARSAL_VARS=$dir/vars.env"
  echo "NEOSALE_REHEARSAL_OVERLAY=$dir/overlay"
  echo "NEOSALE_REHEARSAL_ACTOR=$ACTOR"
  echo "STAGING_URL=http://$addr:${STAGING_PORTS[0]}"
  echo "PRODUCTION_URL=http://$addr:${PRODUCTION_PORTS[0]}"
}

# The stand-in image the air-gapped set serves for NAME (postgres, redis), from the generated .env.
image_of() {
  local key
  key="$(echo "$1" | tr '[:lower:]' '[:upper:]')IMAGE"
  sed -nE "s/^${key}=(.*)/\1/p" "$root/.env" | head -n 1 | grep . || die "no $key in $root/.env: run scripts/airgap-up.sh"
}

cmd_stop() {
  local project
  for name in sshd registry; do
    if pidfile="$dir/$name.pid" pid_alive; then
      pidfile="$dir/$name.pid" stop_pid 10
    fi
  done
  for project in neosale-staging neosale-production; do
    docker ps -aq --filter "label=dev.neosale.deploy.project=$project" | xargs -r docker rm -f >/dev/null
    docker volume ls -q --filter "label=dev.neosale.deploy.project=$project" | xargs -r docker volume rm -f >/dev/null
    docker network ls -q --filter "name=^$project\$" | xargs -r docker network rm >/dev/null
  done
  rm -rf "$dir/registry-data"
  log "stopped; both targets removed"
}

case "$cmd" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  *) usage ;;
esac
