#!/usr/bin/env bash
# Start the API, a Celery worker and the beat schedule; stop all three on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PORT=${PORT:-8000}
mkdir -p var
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

if [ "${KAMENG_LOCAL_TSA:-0}" = "1" ]; then
  # A local, untrusted RFC 3161 TSA for the demo; the worker and the API are pointed at it.
  TSA_PORT=${KAMENG_LOCAL_TSA_PORT:-8318}
  $BIN/python manage.py run_local_tsa --port "$TSA_PORT" --dir var/local-tsa --include-chain >var/local-tsa.log 2>&1 &
  pids+=($!)
  for _ in $(seq 1 50); do [ -f var/local-tsa/openssl.cnf ] && break; sleep 0.2; done
  export KAMENG_TSA_URL="http://127.0.0.1:${TSA_PORT}/"
  export KAMENG_TSA_CA_FILE="$PWD/var/local-tsa/ca.pem"
fi

$BIN/celery -A kameng_api worker --loglevel=INFO --concurrency=2 >var/worker.log 2>&1 &
pids+=($!)
$BIN/celery -A kameng_api beat --loglevel=INFO --schedule var/celerybeat-schedule >var/beat.log 2>&1 &
pids+=($!)
$BIN/python manage.py runserver "127.0.0.1:${PORT}" --noreload &
pids+=($!)

sleep 2
cat <<TXT

  Kameng API is running (worker log: var/worker.log, beat log: var/beat.log)

  API docs (Swagger UI)  http://127.0.0.1:${PORT}/api/docs/
  API docs (Redoc)       http://127.0.0.1:${PORT}/api/redoc/
  OpenAPI schema         http://127.0.0.1:${PORT}/api/schema/
  Admin                  http://127.0.0.1:${PORT}/admin/
  Analysts' charts       http://127.0.0.1:${PORT}/analyst/
  Health                 http://127.0.0.1:${PORT}/healthz
  Personal data keys     ${KAMENG_DATA_KEY_FILE:-var/data-keys.json} (made on the first start; keep it)

  Demo logins (password: kameng-demo-2026)
    intake      intake staff: registers cases and evidence
    handler     case handler: transitions, escalates, resolves
    supervisor  supervisor: assigns, approves legal, edits platforms, reads the audit log
    analyst     analyst: statistics only (the analysts' charts page)

  Trusted timestamps     ${KAMENG_TSA_URL:-no TSA configured (KAMENG_LOCAL_TSA=1 make run starts a local one)}

  Get a token:  curl -s -X POST http://127.0.0.1:${PORT}/api/v1/auth/token/ \\
                  -H 'Content-Type: application/json' -d '{"username":"handler","password":"kameng-demo-2026"}'
  Ctrl-C stops all three.

TXT
wait -n "${pids[@]}"
