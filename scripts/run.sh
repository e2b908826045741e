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
  Health                 http://127.0.0.1:${PORT}/healthz

  Demo logins (password: kameng-demo-2026)
    intake      intake staff: registers cases and evidence
    handler     case handler: transitions, escalates, resolves
    supervisor  supervisor: assigns, approves legal, edits platforms, reads the audit log
    analyst     analyst: statistics only

  Get a token:  curl -s -X POST http://127.0.0.1:${PORT}/api/v1/auth/token/ \\
                  -H 'Content-Type: application/json' -d '{"username":"handler","password":"kameng-demo-2026"}'
  Ctrl-C stops all three.

TXT
wait -n "${pids[@]}"
