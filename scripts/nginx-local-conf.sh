#!/usr/bin/env bash
# Renders nginx/ for a run of Debian's nginx outside Docker (local stack, tests):
#   scripts/nginx-local-conf.sh OUTDIR LISTEN FRONTEND BACKEND
#   e.g. scripts/nginx-local-conf.sh /tmp/x 127.0.0.1:58080 127.0.0.1:53000 127.0.0.1:54000
# Writes OUTDIR/nginx.conf (the repo's, with the listen address replaced),
# OUTDIR/conf.d/upstream.conf (the repo's, with the servers replaced),
# OUTDIR/conf.d/neosale-routes.inc (the repo's routes, as they are),
# OUTDIR/conf.d/zz-local.conf (temp paths inside OUTDIR) and OUTDIR/nginx, a
# wrapper that runs nginx in the foreground with this config; pass it -t,
# -s reload, -s quit... Nothing outside OUTDIR is written to.
# nginx workers run as "nobody" when started by root: OUTDIR and its parents
# must be traversable by that user (e.g. a 0755 directory under /tmp).
set -euo pipefail

[ $# -eq 4 ] || { echo "usage: $0 OUTDIR LISTEN FRONTEND BACKEND" >&2; exit 2; }
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$(mkdir -p "$1" && cd "$1" && pwd)"
LISTEN="$2" FRONTEND="$3" BACKEND="$4"
NGINX_BIN="${NGINX_BIN:-$(command -v nginx || echo /usr/sbin/nginx)}"

mkdir -p "$OUT/conf.d" "$OUT/temp" "$OUT/logs"

sed -E "s|^([[:space:]]*)listen[[:space:]]+8080([[:space:]]+default_server)?;|\1listen $LISTEN\2;|" \
  "$ROOT/nginx/nginx.conf" >"$OUT/nginx.conf"
grep -q "listen $LISTEN" "$OUT/nginx.conf" || { echo "$0: no 'listen 8080' line to replace in nginx/nginx.conf" >&2; exit 1; }

sed -e "s|server frontend:3000|server $FRONTEND|" -e "s|server backend:4000|server $BACKEND|" \
  "$ROOT/nginx/conf.d/upstream.conf" >"$OUT/conf.d/upstream.conf"
grep -q "server $FRONTEND" "$OUT/conf.d/upstream.conf" && grep -q "server $BACKEND" "$OUT/conf.d/upstream.conf" \
  || { echo "$0: nginx/conf.d/upstream.conf no longer names frontend:3000 and backend:4000" >&2; exit 1; }

cp "$ROOT/nginx/conf.d/neosale-routes.inc" "$OUT/conf.d/neosale-routes.inc"

# Keeps nginx away from /var/lib/nginx (which it would chown when run as root).
cat >"$OUT/conf.d/zz-local.conf" <<CONF
client_body_temp_path $OUT/temp/client_body;
proxy_temp_path $OUT/temp/proxy;
fastcgi_temp_path $OUT/temp/fastcgi;
uwsgi_temp_path $OUT/temp/uwsgi;
scgi_temp_path $OUT/temp/scgi;
CONF

cat >"$OUT/nginx" <<WRAP
#!/bin/sh
exec "$NGINX_BIN" -p "$OUT/" -c "$OUT/nginx.conf" -e "$OUT/logs/error.log" -g "pid $OUT/nginx.pid; daemon off;" "\$@"
WRAP
chmod 755 "$OUT/nginx"
