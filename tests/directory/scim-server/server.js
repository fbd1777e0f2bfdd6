// A real SCIM 2.0 service for useradmin's directory tests: scimmy parses and
// applies every SCIM message (PatchOp included) and scimmy-routers serves
// RFC 7644 over express; this file only adds an in-memory user store, bearer
// authentication and a small /control API to inject faults.
//
// usage: node server.js --token TOKEN [--port PORT] [--cert PEM --key PEM]
// prints "scim listening on PORT" on stdout when ready (127.0.0.1, PORT or a
// free port);
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
// Faults for PATCH /scim/Users/...: {status, delayMs, retryAfter, count}
// (reads stay correct, so tests can check the directory's state); with
// `count`, only that many PATCHes meet the fault, then it is cleared.
// A delayed PATCH without a status is applied after the delay (as a slow
// directory applies a call its client gave up on). PATCH counters.
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
// Bulk set-up and read-back for large tests: {"ids": [...], "active": bool}
// creates (or overwrites) users as a SCIM POST would store them; GET gives
// every user's `active` by id, and the total PATCH count.
app.post("/control/users", (req, res) => {
  const now = new Date();
  for (const id of req.body.ids)
    users.set(id, {schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: id, active: req.body.active,
                   id, meta: {resourceType: "User", created: now, lastModified: now}});
  res.json({count: req.body.ids.length});
});
app.get("/control/users", (req, res) => {
  const active = {};
  for (const [id, user] of users) active[id] = user.active;
  let total = 0;
  for (const n of patches.values()) total += n;
  res.json({active, patches: total});
});

// Bodies are read at once (scimmy-routers' own parser then skips), so a
// PATCH held by a delay is applied even when its client has given up.
app.use("/scim", express.json({type: ["application/scim+json", "application/json"], limit: "1mb"}));
app.use("/scim", (req, res, next) => {
  if (req.method !== "PATCH") return next();
  const id = decodeURIComponent(req.path.split("/")[2] ?? "");
  patches.set(id, (patches.get(id) ?? 0) + 1);
  const met = fault;
  if (fault.count !== undefined && --fault.count <= 0) fault = {};
  const answer = () => {
    if (!met.status) return next();
    if (met.retryAfter !== undefined) res.set("Retry-After", String(met.retryAfter));
    res.status(met.status).type("application/scim+json").send(JSON.stringify({
      schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: String(met.status),
      detail: "injected fault; secret upstream text"}));
  };
  if (met.delayMs) setTimeout(answer, met.delayMs);
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
server.listen(Number(args.port ?? 0), "127.0.0.1", () => {
  console.log(`scim listening on ${server.address().port}`);
  if (!args.cert) return;
  const plain = http.createServer(app);
  plain.listen(0, "127.0.0.1", () => console.log(`scim plain on ${plain.address().port}`));
});
