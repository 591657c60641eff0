#!/usr/bin/env bash
# `make scale-demo`: the scale-out stack on one machine. PostgreSQL (a private cluster in .scale-demo/), Redis,
# gunicorn, two Celery workers, the scheduler and a simulated fleet, run together by honcho (Procfile.scale).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
STATE=.scale-demo
PG_PORT=${PG_PORT:-55432}
REDIS_PORT=${REDIS_PORT:-56379}
export WEB_PORT=${WEB_PORT:-8000}
export ROUTERS=${ROUTERS:-12}
mkdir -p "$STATE"

pg_bin() { command -v "$1" 2>/dev/null || ls /usr/lib/postgresql/*/bin/"$1" 2>/dev/null | sort -V | tail -1; }
INITDB=$(pg_bin initdb); PG_CTL=$(pg_bin pg_ctl)
AS_PG=()
if [ "$(id -u)" -eq 0 ]; then AS_PG=(runuser -u postgres --); chown postgres "$STATE"; fi
if [ ! -d "$STATE/pgdata" ]; then
  "${AS_PG[@]}" "$INITDB" -D "$PWD/$STATE/pgdata" -A trust -U routerdeck -E UTF8 >/dev/null
fi
"${AS_PG[@]}" "$PG_CTL" -D "$PWD/$STATE/pgdata" -o "-p $PG_PORT -h 127.0.0.1 -k $PWD/$STATE" \
  -l "$PWD/$STATE/postgres.log" -w start >/dev/null
trap '"${AS_PG[@]}" "$PG_CTL" -D "$PWD/$STATE/pgdata" -m fast -w stop >/dev/null' EXIT
psql_url="postgresql://routerdeck@127.0.0.1:$PG_PORT/postgres"
"$VENV/bin/python" - "$psql_url" <<'PY'
import sys, psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'routerdeck'").fetchone():
        conn.execute("CREATE DATABASE routerdeck")
PY

export FLASK_SQLALCHEMY_DATABASE_URI="postgresql+psycopg://routerdeck@127.0.0.1:$PG_PORT/routerdeck"
export FLASK_BROKER_URL="redis://127.0.0.1:$REDIS_PORT/0"
export FLASK_READY_WORKER_KINDS="worker,scheduler"
export FLASK_POLL_INTERVAL=${FLASK_POLL_INTERVAL:-15}
export FLASK_METRICS_TOKEN=${FLASK_METRICS_TOKEN:-$("$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(24))')}
export REDIS_PORT STATE
FLASK="$VENV/bin/flask --app wsgi"
$FLASK init-instance >/dev/null 2>&1 || true   # secrets in instance/config.py (kept if present)
$FLASK db upgrade >/dev/null
echo "Prometheus: GET http://127.0.0.1:$WEB_PORT/metrics/fleet with 'Authorization: Bearer $FLASK_METRICS_TOKEN'"
echo "Readiness:  GET http://127.0.0.1:$WEB_PORT/readyz"
"$VENV/bin/honcho" -f Procfile.scale start
