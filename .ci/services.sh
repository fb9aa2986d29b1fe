#!/usr/bin/env bash
# Services for the tests of the nightly batch job (docs/batch.md, "Testing"):
#   * PostgreSQL from Debian's packages: the cluster is started and a role and
#     database made for the tests; their URL is written to .ci/pg_url, which
#     tests/test_batch*.py read (the environment variable ASSIGN_TEST_PG_URL,
#     when set, takes precedence);
#   * Chromium from Debian's packages, for the test that opens the HTML report.
# Idempotent: run it as often as you like. Installs only as root (as CI runs);
# otherwise, or when something fails, it says so and the tests that need the
# missing service are skipped. It never fails the build by itself.
set -uo pipefail
cd "$(dirname "$0")/.."

PG_URL_FILE=.ci/pg_url
PG_ROLE=assign
PG_PASSWORD=assign
PG_DB=assign_test

say() { echo "services.sh: $*"; }

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${missing[*]} from Debian packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null 2>&1 || say "apt-get update failed"
    apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || say "apt-get install ${missing[*]} failed"
  else
    say "not root or no apt-get: not installing ${missing[*]} (their tests will be skipped)"
  fi
fi

rm -f "$PG_URL_FILE"
if ! command -v pg_lsclusters >/dev/null 2>&1; then
  say "PostgreSQL is not installed; its tests will be skipped"
  exit 0
fi

cluster=$(pg_lsclusters -h 2>/dev/null | head -n 1)
if [ -z "$cluster" ]; then
  version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  say "creating PostgreSQL cluster $version/main"
  pg_createcluster "$version" main >/dev/null 2>&1 || { say "pg_createcluster failed"; exit 0; }
  cluster=$(pg_lsclusters -h 2>/dev/null | head -n 1)
fi
read -r version name port status _ <<<"$cluster"
if [ "$status" != "online" ]; then
  say "starting PostgreSQL $version/$name on port $port"
  pg_ctlcluster "$version" "$name" start >/dev/null 2>&1 || { say "pg_ctlcluster start failed"; exit 0; }
fi
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 -p "$port" && break
  sleep 1
done
if ! pg_isready -q -h 127.0.0.1 -p "$port"; then
  say "PostgreSQL does not answer on port $port; its tests will be skipped"
  exit 0
fi

psql_admin() { su postgres -s /bin/sh -c "psql -q -v ON_ERROR_STOP=1 -p $port $*"; }
if [ "$(id -u)" = 0 ]; then
  psql_admin "-tAc \"SELECT 1 FROM pg_roles WHERE rolname='$PG_ROLE'\"" | grep -q 1 \
    || psql_admin "-c \"CREATE ROLE $PG_ROLE LOGIN PASSWORD '$PG_PASSWORD' CREATEDB\"" \
    || say "cannot create role $PG_ROLE"
  psql_admin "-tAc \"SELECT 1 FROM pg_database WHERE datname='$PG_DB'\"" | grep -q 1 \
    || psql_admin "-c \"CREATE DATABASE $PG_DB OWNER $PG_ROLE\"" \
    || say "cannot create database $PG_DB"
fi
url="postgresql+psycopg://$PG_ROLE:$PG_PASSWORD@127.0.0.1:$port/$PG_DB"
echo "$url" >"$PG_URL_FILE"
say "PostgreSQL ready: $url (written to $PG_URL_FILE)"
exit 0
