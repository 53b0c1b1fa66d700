#!/bin/sh
# The postgres stand-in's entrypoint: on the first start of `postgres` (an empty
# PGDATA), make the cluster the official image would from POSTGRES_USER (default
# postgres), POSTGRES_PASSWORD (required) and POSTGRES_DB (default: the user's name),
# then run the command.
set -eu

if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?the postgres stand-in needs POSTGRES_PASSWORD}"
    user=${POSTGRES_USER:-postgres}
    database=${POSTGRES_DB:-$user}

    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    # Sockets in the container trust, everything over TCP needs the password.
    initdb --username="$user" --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"

    if [ "$database" != postgres ]; then
        # Sockets only, so nothing can connect before the cluster is ready.
        pg_ctl --pgdata="$PGDATA" --options="-c listen_addresses=''" --wait start
        psql --no-psqlrc --set=ON_ERROR_STOP=1 --username="$user" --dbname=postgres \
            --set=database="$database" <<'SQL'
CREATE DATABASE :"database";
SQL
        pg_ctl --pgdata="$PGDATA" --mode=fast --wait stop
    fi
fi

exec "$@"
