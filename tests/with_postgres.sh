#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL server on a Unix socket, so the store tests also run
# against PostgreSQL (FORMULATE_TEST_PG_URL). Without PostgreSQL's binaries the command runs
# alone and those tests are skipped. Usage: tests/with_postgres.sh pytest ...
set -euo pipefail
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "PostgreSQL not installed: PostgreSQL store tests will be skipped" >&2
  exec "$@"
fi
data=$(mktemp -d /tmp/formulate-pg.XXXXXX)
run_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$data"
run_pg "$bindir/initdb" -D "$data/db" -A trust -U formulate >/dev/null
run_pg "$bindir/pg_ctl" -D "$data/db" -l "$data/log" -w \
  -o "-c listen_addresses='' -k $data -p 54329" start >/dev/null
trap 'run_pg "$bindir/pg_ctl" -D "$data/db" -m fast stop >/dev/null; rm -rf "$data"' EXIT
export FORMULATE_TEST_PG_URL="postgresql+psycopg://formulate@/postgres?host=$data&port=54329"
"$@"
