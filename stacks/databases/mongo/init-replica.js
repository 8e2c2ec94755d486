// Run once by the mongo-init service (mongosh --file); safe to run again.
// 1. initiate the single-node replica set, advertised under the address app hosts use;
// 2. create the application user with readWrite on the gateway database.
const root = process.env.MONGO_INITDB_ROOT_USERNAME;
const rootPassword = process.env.MONGO_INITDB_ROOT_PASSWORD;
const rsName = process.env.MONGO_REPLICA_SET || "rs0";
const host = `${process.env.MONGO_ADVERTISED_HOST}:27017`;
const appDb = process.env.MONGO_APP_DATABASE || "gateway";
const appUser = process.env.MONGO_APP_USERNAME;
const appPassword = process.env.MONGO_APP_PASSWORD;

const admin = db.getSiblingDB("admin");
admin.auth(root, rootPassword);

try {
  rs.status();
  print("replica set already initiated");
} catch (e) {
  rs.initiate({ _id: rsName, members: [{ _id: 0, host: host }] });
  print(`replica set ${rsName} initiated as ${host}`);
}

// Wait until this node is primary before writing users.
for (let i = 0; i < 60 && !db.hello().isWritablePrimary; i++) {
  sleep(1000);
}

if (admin.getUser(appUser) === null) {
  admin.createUser({ user: appUser, pwd: appPassword, roles: [{ role: "readWrite", db: appDb }] });
  print(`user ${appUser} created`);
} else {
  admin.updateUser(appUser, { pwd: appPassword, roles: [{ role: "readWrite", db: appDb }] });
  print(`user ${appUser} updated`);
}
