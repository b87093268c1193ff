#!/bin/sh
# The streaming replica: on an empty data directory, clone the primary with pg_basebackup
# (-R writes standby.signal and primary_conninfo), then run postgres as a hot standby.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
	until pg_isready -h postgres-primary -U postgres; do sleep 1; done
	PGPASSWORD="$REPLICATION_PASSWORD" pg_basebackup -h postgres-primary -U replicator \
		-D "$PGDATA" -R -X stream -S replica_1 --no-password
	chmod 0700 "$PGDATA"
fi
exec docker-entrypoint.sh postgres -c hot_standby=on
