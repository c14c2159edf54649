#!/bin/sh
# Runs once on an empty data volume (docker-entrypoint-initdb.d), as the POSTGRES_USER
# superuser. The ALPR tables are created by the services themselves (`ovr-alpr consumer` and
# `api` migrate the plate_events schema on start); the schema registry needs its own database.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE DATABASE apicurio OWNER "$POSTGRES_USER";
SQL
