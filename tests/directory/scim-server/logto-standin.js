// A STAND-IN for Logto (no Logto server can run on this machine): exactly the
// two endpoints useradmin's Logto client uses, with Logto's documented status
// codes and error shapes. It is test code, not Logto.
//   POST /oidc/token                      client_credentials, HTTP Basic client
//                                         auth, `resource`, `scope`; OAuth errors
//                                         {"error","error_description"}
//   PATCH /api/users/:userId/is-suspended {"isSuspended": boolean}; 200 with the
//                                         user; 400/401/404 with Logto's
//                                         {"code","message"} error body
// plus /control (seed users, read them, count calls, revoke tokens).
//
// usage: node logto-standin.js --client-id ID --client-secret S --resource URI [--expires-in N]
// prints "logto listening on PORT" when ready.
import crypto from "node:crypto";
import express from "express";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, i, all) => (arg.startsWith("--") ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []));
const users = new Map();   // id -> {id, isSuspended}
const tokens = new Set();  // live access tokens
const calls = {tokens: 0, patches: 0};

const app = express();
app.use(express.json({type: ["application/json"]}));
app.use(express.urlencoded({extended: false}));

const oauthError = (res, status, error, description) =>
  res.status(status).json({error, error_description: description});
const logtoError = (res, status, code, message) => res.status(status).json({code, message});

app.post("/oidc/token", (req, res) => {
  calls.tokens += 1;
  const [scheme, encoded] = (req.header("Authorization") ?? "").split(" ");
  const [id, secret] = scheme === "Basic" ? Buffer.from(encoded ?? "", "base64").toString().split(":") : [];
  if (id !== args["client-id"] || secret !== args["client-secret"])
    return oauthError(res, 401, "invalid_client", "client authentication failed");
  if (req.body.grant_type !== "client_credentials")
    return oauthError(res, 400, "unsupported_grant_type", "unsupported grant_type");
  if (req.body.resource !== args.resource) return oauthError(res, 400, "invalid_target", "resource indicator is missing, or unknown");
  const token = crypto.randomBytes(24).toString("base64url");
  tokens.add(token);
  res.json({access_token: token, expires_in: Number(args["expires-in"] ?? 3600), token_type: "Bearer", scope: req.body.scope});
});

app.patch("/api/users/:userId/is-suspended", (req, res) => {
  calls.patches += 1;
  const [scheme, token] = (req.header("Authorization") ?? "").split(" ");
  if (scheme !== "Bearer" || !tokens.has(token)) return logtoError(res, 401, "auth.unauthorized", "Unauthorized");
  if (typeof req.body?.isSuspended !== "boolean")
    return logtoError(res, 400, "guard.invalid_input", "The request input is invalid.");
  const user = users.get(req.params.userId);
  if (!user) return logtoError(res, 404, "entity.not_exists_with_id", `The user with ID \`${req.params.userId}\` does not exist.`);
  user.isSuspended = req.body.isSuspended;
  res.json(user);
});

app.use("/control", express.json());
app.post("/control/users", (req, res) => {
  users.set(req.body.id, {id: req.body.id, isSuspended: !!req.body.isSuspended});
  res.status(201).json(users.get(req.body.id));
});
app.get("/control/users/:id", (req, res) => (users.has(req.params.id) ? res.json(users.get(req.params.id)) : res.sendStatus(404)));
app.get("/control/calls", (req, res) => res.json(calls));
app.post("/control/revoke", (req, res) => {
  tokens.clear();
  res.json({});
});

const server = app.listen(0, "127.0.0.1", () => console.log(`logto listening on ${server.address().port}`));
