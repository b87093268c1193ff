#!/bin/sh
# Runs once, on the primary's first start (docker-entrypoint-initdb.d): the databases of the
# stack, the replication role the streaming replica connects as, and pg_hba for it.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" <<SQL
CREATE DATABASE registry_a;
CREATE DATABASE registry_b;
CREATE DATABASE teg;
CREATE DATABASE spire;
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD '${REPLICATION_PASSWORD}';
SELECT pg_create_physical_replication_slot('replica_1');
SQL
echo "host replication replicator all scram-sha-256" >>"$PGDATA/pg_hba.conf"
