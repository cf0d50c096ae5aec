#!/usr/bin/env bash
# PostgreSQL for the API tests: install it from Debian packages (if missing), run a dedicated
# cluster listening on 127.0.0.1 only, create a user and a database, and print the line that
# points the tests at it.  Idempotent.  Usage (as root):
#     eval "$(bash .ci/pg.sh)"      # sets ASSIGNER_TEST_PG_URL
# Everything but the export line goes to stderr.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

PORT="${ASSIGNER_PG_PORT:-54329}"
CLUSTER="assigner_ci"
DB_USER="assigner"
DB_PASSWORD="assigner"
DB_NAME="assigner_test"

if ! command -v pg_createcluster >/dev/null 2>&1 || ! compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null; then
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi
VERSION="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"

if ! pg_lsclusters --no-header | awk '{print $1 "/" $2}' | grep -qx "${VERSION}/${CLUSTER}"; then
  pg_createcluster "${VERSION}" "${CLUSTER}" --port "${PORT}" >&2
fi
# conf.d is read last, so these win over postgresql.conf: loopback only, our port.
cat > "/etc/postgresql/${VERSION}/${CLUSTER}/conf.d/assigner-ci.conf" <<CONF
listen_addresses = '127.0.0.1'
port = ${PORT}
max_connections = 200
CONF
mkdir -p /var/run/postgresql && chown postgres:postgres /var/run/postgresql
if pg_lsclusters --no-header | awk -v c="${CLUSTER}" '$2 == c {print $4}' | grep -qx online; then
  pg_ctlcluster "${VERSION}" "${CLUSTER}" restart >&2
else
  pg_ctlcluster "${VERSION}" "${CLUSTER}" start >&2
fi
for _ in $(seq 1 60); do
  pg_isready -q -h 127.0.0.1 -p "${PORT}" && break
  sleep 0.5
done
pg_isready -h 127.0.0.1 -p "${PORT}" >&2

psql_admin() { runuser -u postgres -- psql -X -q -p "${PORT}" -v ON_ERROR_STOP=1 "$@"; }
psql_admin -d postgres >&2 <<SQL
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${DB_USER}') THEN
    CREATE ROLE ${DB_USER} LOGIN CREATEDB PASSWORD '${DB_PASSWORD}';
  ELSE
    ALTER ROLE ${DB_USER} LOGIN CREATEDB PASSWORD '${DB_PASSWORD}';
  END IF;
END
\$\$;
SQL
if ! psql_admin -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '${DB_NAME}'" | grep -qx 1; then
  psql_admin -d postgres -c "CREATE DATABASE ${DB_NAME} OWNER ${DB_USER}" >&2
fi
echo "export ASSIGNER_TEST_PG_URL=postgresql+psycopg://${DB_USER}:${DB_PASSWORD}@127.0.0.1:${PORT}/${DB_NAME}"
