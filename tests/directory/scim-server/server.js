// A real SCIM 2.0 service for useradmin's directory tests: scimmy parses and
// applies every SCIM message (PatchOp included) and scimmy-routers serves
// RFC 7644 over express; this file only adds an in-memory user store, bearer
// authentication and a small /control API to inject faults.
//
// usage: node server.js --token TOKEN [--cert PEM --key PEM]
// prints "scim listening on PORT" on stdout when ready (127.0.0.1, free port);
// with --cert, PORT is https and a plain-http twin (for /control and checks)
// follows as "scim plain on PORT".
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import express from "express";
import SCIMMY from "scimmy";
import SCIMMYRouters from "scimmy-routers";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, i, all) => (arg.startsWith("--") ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []));

// id -> SCIM user (as scimmy hands it to ingress, plus id and meta).
const users = new Map();
// Faults for PATCH /scim/Users/...: {status, delayMs, retryAfter} (reads
// stay correct, so tests can check the directory's state); PATCH counters.
let fault = {};
const patches = new Map();

SCIMMY.Resources.declare(SCIMMY.Resources.User)
  .egress((resource) => {
    if (resource.id) {
      const user = users.get(resource.id);
      if (!user) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
      return user;
    }
    return [...users.values()];
  })
  .ingress((resource, instance) => {
    // Created users take their userName as id, so tests choose the id.
    const id = resource.id ?? instance.userName;
    if (!resource.id && users.has(id)) throw new SCIMMY.Types.Error(409, "uniqueness", "userName already exists");
    if (resource.id && !users.has(id)) throw new SCIMMY.Types.Error(404, null, `Resource ${id} not found`);
    const now = new Date();
    const stored = {...instance, id, meta: {created: users.get(id)?.meta?.created ?? now, lastModified: now}};
    users.set(id, stored);
    return stored;
  })
  .degress((resource) => {
    if (!users.delete(resource.id)) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
  });

const app = express();
app.use("/control", express.json());
app.post("/control/fault", (req, res) => {
  fault = req.body ?? {};
  res.json(fault);
});
app.get("/control/patches/:id", (req, res) => res.json({count: patches.get(req.params.id) ?? 0}));

app.use("/scim", (req, res, next) => {
  if (req.method !== "PATCH") return next();
  const id = decodeURIComponent(req.path.split("/")[2] ?? "");
  patches.set(id, (patches.get(id) ?? 0) + 1);
  const answer = () => {
    if (!fault.status) return next();
    if (fault.retryAfter !== undefined) res.set("Retry-After", String(fault.retryAfter));
    res.status(fault.status).type("application/scim+json").send(JSON.stringify({
      schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: String(fault.status),
      detail: "injected fault; secret upstream text"}));
  };
  if (fault.delayMs) setTimeout(answer, fault.delayMs);
  else answer();
});
app.use("/scim", new SCIMMYRouters({
  type: "bearer",
  docUri: "https://datatracker.ietf.org/doc/html/rfc6750",
  handler: (request) => {
    if (request.header("Authorization") !== `Bearer ${args.token}`) throw new Error("Authorization not valid");
    return "useradmin";
  },
}));

const server = args.cert
  ? https.createServer({cert: fs.readFileSync(args.cert), key: fs.readFileSync(args.key)}, app)
  : http.createServer(app);
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  console.log(`scim listening on ${server.address().port}`);
  if (!args.cert) return;
  const plain = http.createServer(app);
  plain.listen(0, "127.0.0.1", () => console.log(`scim plain on ${plain.address().port}`));
});
