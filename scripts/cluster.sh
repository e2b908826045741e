#!/usr/bin/env bash
# Several machines' worth of processes on one machine, for trying the multi-node setup without Docker:
# SeaweedFS (S3 evidence storage, unless S3_ENDPOINT_URL is already set), WEB_PORTS gunicorn web nodes,
# WORKERS Celery workers and BEATS beats, all on the PostgreSQL and Redis that DATABASE_URL and REDIS_URL
# name. Each process runs in its own process group with its pid in $CLUSTER_DIR/<name>.pid, so one "machine"
# can be killed with `kill -9 -- -$(cat var/cluster/web1.pid)`. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
: "${DATABASE_URL:?set DATABASE_URL (PostgreSQL)}"
: "${REDIS_URL:?set REDIS_URL}"
WEB_PORTS=${WEB_PORTS:-"8001 8002"}
WORKERS=${WORKERS:-2}
BEATS=${BEATS:-2}
S3_PORT_BASE=${S3_PORT_BASE:-8300}
CLUSTER_DIR=${CLUSTER_DIR:-var/cluster}
mkdir -p "$CLUSTER_DIR"

export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-kameng_api.settings.production}
export DJANGO_SECRET_KEY=${DJANGO_SECRET_KEY:-local-cluster-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')}
# Personal data keys (README "Personal data (PIPL)"): made once per cluster directory and kept, or the data
# written by an earlier run could not be read.
if [ -z "${KAMENG_DATA_KEYS:-}" ]; then
  if [ ! -f "$CLUSTER_DIR/data-keys.env" ]; then
    (umask 077; printf 'KAMENG_DATA_KEYS=%s\nKAMENG_BLIND_INDEX_KEY=%s\n' \
      "$(head -c 32 /dev/urandom | base64 | tr '+/' '-_')" "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
      >"$CLUSTER_DIR/data-keys.env")
  fi
  set -a; . "$CLUSTER_DIR/data-keys.env"; set +a
fi
export DJANGO_SECURE_SSL_REDIRECT=${DJANGO_SECURE_SSL_REDIRECT:-false}
export WEB_CONCURRENCY=${WEB_CONCURRENCY:-2}
export S3_BUCKET=${S3_BUCKET:-kameng-evidence} S3_REGION=${S3_REGION:-us-east-1}

pids=()
cleanup() {  # graceful first (SIGTERM), then whatever is left after 30 s
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for _ in $(seq 1 30); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [[ $alive == 0 ]] && break
    sleep 1
  done
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

start() {  # start NAME COMMAND...: in its own process group, log and pid under $CLUSTER_DIR
  local name=$1; shift
  setsid "$@" >"$CLUSTER_DIR/$name.log" 2>&1 &
  echo $! >"$CLUSTER_DIR/$name.pid"
  pids+=($!)
}

if [[ -z "${S3_ENDPOINT_URL:-}" ]]; then
  export S3_ACCESS_KEY=${S3_ACCESS_KEY:-kameng-evidence}
  export S3_SECRET_KEY=${S3_SECRET_KEY:-local-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')}
  export S3_ENDPOINT_URL=http://127.0.0.1:$((S3_PORT_BASE + 6))
  mkdir -p "$CLUSTER_DIR/s3data"
  printf '{"identities": [{"name": "kameng", "credentials": [{"accessKey": "%s", "secretKey": "%s"}], "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}\n' \
    "$S3_ACCESS_KEY" "$S3_SECRET_KEY" >"$CLUSTER_DIR/s3.json"
  p=$S3_PORT_BASE
  start seaweedfs "$BIN/weed" server -dir="$CLUSTER_DIR/s3data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
    -master.port=$p -master.port.grpc=$((p + 1)) -volume.port=$((p + 2)) -volume.port.grpc=$((p + 3)) \
    -filer.port=$((p + 4)) -filer.port.grpc=$((p + 5)) -s3 -s3.port=$((p + 6)) -s3.port.grpc=$((p + 7)) \
    -s3.port.iceberg=0 -s3.port.lance=0 -s3.config="$CLUSTER_DIR/s3.json" -iam=false \
    -master.volumeSizeLimitMB=1024 -volume.max=100 -master.telemetry=false
fi

$BIN/python manage.py migrate --noinput -v 0
for _ in $(seq 1 60); do
  $BIN/python manage.py evidence_storage --create-bucket >/dev/null 2>&1 && break
  sleep 1
done
$BIN/python manage.py evidence_storage

n=0
for port in $WEB_PORTS; do
  n=$((n + 1))
  start "web$n" "$BIN/gunicorn" kameng_api.wsgi:application -c gunicorn.conf.py --bind "127.0.0.1:$port"
done
for i in $(seq 1 "$WORKERS"); do
  start "worker$i" "$BIN/celery" -A kameng_api worker --loglevel=INFO --concurrency=2 -n "worker$i@%h"
done
for i in $(seq 1 "$BEATS"); do
  start "beat$i" "$BIN/celery" -A kameng_api beat --loglevel=INFO --schedule "$CLUSTER_DIR/beat$i-schedule"
done

for port in $WEB_PORTS; do
  for _ in $(seq 1 60); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 1; done
done
echo
echo "  Kameng API cluster ($CLUSTER_DIR: logs and pids)"
for port in $WEB_PORTS; do echo "    web node     http://127.0.0.1:$port/  (readyz: $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz"))"; done
echo "    S3           $S3_ENDPOINT_URL bucket $S3_BUCKET (key $S3_ACCESS_KEY)"
echo "    workers $WORKERS, beats $BEATS; kill a node: kill -9 -- -\$(cat $CLUSTER_DIR/web1.pid)"
echo "  Ctrl-C stops everything."
wait
