#!/usr/bin/env bash
# Writes the replica-set keyfile from MONGO_REPLICA_KEY (from .env.databases) with the owner and
# mode mongod demands, then hands over to the image's entrypoint with auth + replica set.
set -euo pipefail
: "${MONGO_REPLICA_KEY:?MONGO_REPLICA_KEY must be set in .env.databases}"
keyfile=/data/configdb/replica.key
umask 077
printf '%s' "$MONGO_REPLICA_KEY" > "$keyfile"
chown mongodb:mongodb "$keyfile"
chmod 400 "$keyfile"
exec docker-entrypoint.sh mongod --replSet "${MONGO_REPLICA_SET:-rs0}" --keyFile "$keyfile" \
  --bind_ip_all --auth
