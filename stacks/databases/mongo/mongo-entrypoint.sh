#!/usr/bin/env bash
# Writes the replica-set keyfile from the compose secret MONGO_REPLICA_KEY_FILE (MONGO_REPLICA_KEY
# of .env.databases, written by ansible) with the owner and mode mongod demands, then hands over to
# the image's entrypoint with auth + replica set (it reads MONGO_INITDB_ROOT_PASSWORD_FILE itself).
set -euo pipefail
: "${MONGO_REPLICA_KEY_FILE:?MONGO_REPLICA_KEY_FILE must name the replica key secret}"
keyfile=/data/configdb/replica.key
umask 077
tr -d '\r\n' < "$MONGO_REPLICA_KEY_FILE" > "$keyfile"
chown mongodb:mongodb "$keyfile"
chmod 400 "$keyfile"
exec docker-entrypoint.sh mongod --replSet "${MONGO_REPLICA_SET:-rs0}" --keyFile "$keyfile" \
  --bind_ip_all --auth
