// The mongo service's health check (mongosh --quiet --file, every 10 s inside the container), so
// it must be idempotent and cheap once everything exists. It
// 1. initiates the single-node replica set, advertised under the address app hosts use;
// 2. creates the application user (readWrite on the gateway database), or resets its password
//    when the one in the secret no longer signs in (a rotation: docs/operations.md);
// 3. prints "ready" only when this node is primary and the application user signs in.
// Passwords come from compose secrets (files), never from the environment.
const fs = require("fs");
const secret = (name) => fs.readFileSync(process.env[name], "utf8").replace(/\r?\n$/, "");
const root = process.env.MONGO_INITDB_ROOT_USERNAME;
const rsName = process.env.MONGO_REPLICA_SET || "rs0";
const host = `${process.env.MONGO_ADVERTISED_HOST}:27017`;
const appDb = process.env.MONGO_APP_DATABASE || "gateway";
const appUser = process.env.MONGO_APP_USERNAME;
const appPassword = secret("MONGO_APP_PASSWORD_FILE");

const admin = db.getSiblingDB("admin");
admin.auth(root, secret("MONGO_INITDB_ROOT_PASSWORD_FILE"));

try {
  rs.status();
} catch (e) {
  rs.initiate({ _id: rsName, members: [{ _id: 0, host: host }] });
  print(`replica set ${rsName} initiated as ${host}`);
}
if (!db.hello().isWritablePrimary) {
  quit(1); // not primary yet (just initiated): the next check continues
}

function appSignsIn() {
  try {
    const probe = new Mongo("mongodb://127.0.0.1:27017/?directConnection=true");
    probe.getDB("admin").auth(appUser, appPassword);
    return true;
  } catch (e) {
    return false;
  }
}

if (admin.getUser(appUser) === null) {
  admin.createUser({ user: appUser, pwd: appPassword, roles: [{ role: "readWrite", db: appDb }] });
  print(`user ${appUser} created`);
} else if (!appSignsIn()) {
  admin.updateUser(appUser, { pwd: appPassword, roles: [{ role: "readWrite", db: appDb }] });
  print(`user ${appUser} password updated`);
}
if (appSignsIn()) {
  print("ready");
}
