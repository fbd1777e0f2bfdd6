// Benchmark peer only, not part of useradmin: the "typical Node service" of
// issue 13 — Fastify + better-sqlite3 + jose on Node 20 — making the same
// reactivation decisions as useradmin-server on the same SQLite database, so
// bench/load/run.sh --node can put the two side by side. Written the way one
// would write such a service: prepared statements, one transaction per
// request, WAL at synchronous=NORMAL, no special-casing of the benchmark.
//
//   node server.js --db PATH --jwt-hs256-secret-file FILE [--listen HOST:PORT]
//   (or DB, JWT_SECRET_FILE, HOST, PORT in the environment; port 0 picks one)
//
// Prints "listening on http://HOST:PORT" once it accepts connections.
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import Fastify from 'fastify';
import Database from 'better-sqlite3';
import { jwtVerify } from 'jose';

function options(argv) {
  const o = {
    db: process.env.DB,
    secretFile: process.env.JWT_SECRET_FILE,
    host: process.env.HOST || '127.0.0.1',
    port: Number(process.env.PORT || 0),
  };
  for (let i = 2; i + 1 < argv.length; i += 2) {
    const v = argv[i + 1];
    if (argv[i] === '--db') o.db = v;
    else if (argv[i] === '--jwt-hs256-secret-file') o.secretFile = v;
    else if (argv[i] === '--listen') {
      const colon = v.lastIndexOf(':');
      o.host = v.slice(0, colon);
      o.port = Number(v.slice(colon + 1));
    } else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!o.db || !o.secretFile) throw new Error('usage: server.js --db PATH --jwt-hs256-secret-file FILE [--listen HOST:PORT]');
  return o;
}

const opts = options(process.argv);
// The secret file's contents are the key bytes, less the trailing newline (as useradmin-server reads it).
const secret = new TextEncoder().encode(readFileSync(opts.secretFile, 'utf8').replace(/[\r\n]+$/, ''));

const db = new Database(opts.db);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('foreign_keys = ON');
db.pragma('busy_timeout = 5000');

// Default policy (spec §1): role permissions and priorities, organization ranks.
const ROLES = {
  super: {
    priority: 0,
    permissions: new Set(['manage:users', 'manage:organizations', 'read:users', 'impersonate:users', 'manage:systems',
      'read:systems', 'destroy:systems']),
  },
  admin: {
    priority: 1,
    permissions: new Set(['manage:users', 'manage:organizations', 'read:users', 'manage:systems', 'read:systems']),
  },
  support: { priority: 2, permissions: new Set(['manage:systems', 'read:systems']) },
};
const LOWEST_PRIVILEGE = 3;
const RANK = { owner: 4, distributor: 3, reseller: 2, customer: 1 };
const MAX_CHAIN = 64;

const sql = {
  user: db.prepare(`SELECT id, username, email, organization_id, status, suspended_by_org_id, tokens_valid_after,
                           updated_at, version
                      FROM users WHERE id = ?`),
  roles: db.prepare('SELECT role FROM user_roles WHERE user_id = ? ORDER BY position').pluck(),
  chain: db.prepare(`WITH RECURSIVE chain (depth, id, type, parent_id, suspended, deleted) AS (
                       SELECT 0, id, type, parent_id, suspended, deleted FROM organizations WHERE id = ?
                       UNION ALL
                       SELECT chain.depth + 1, o.id, o.type, o.parent_id, o.suspended, o.deleted
                         FROM chain JOIN organizations AS o ON o.id = chain.parent_id
                        WHERE chain.depth < ${MAX_CHAIN})
                     SELECT id, type, suspended, deleted FROM chain ORDER BY depth`),
  reactivate: db.prepare(`UPDATE users
                             SET status = 'active', suspended_at = NULL, suspended_by = NULL,
                                 suspended_by_org_id = NULL, updated_at = ?, version = version + 1
                           WHERE id = ? AND version = ? AND status = 'suspended'`),
  audit: db.prepare(`INSERT INTO audit_events (time, action, actor_id, target_id, outcome, reason, request_id,
                                               client_address, note, target_type, target_organization_id)
                     VALUES (?, 'user.reactivate', ?, ?, ?, ?, ?, ?, ?, 'user', ?)`),
};

const VALID_ID = /^[A-Za-z0-9._~-]{1,128}$/;

class Refusal {
  constructor(status, code, reason, message, data) {
    Object.assign(this, { status, code, reason, message, data });
  }
}
const validation = (code, reason, key, message, value) =>
  new Refusal(400, code, reason, 'validation failed', { type: 'validation_error', errors: [{ key, message, value }] });
const denied = (reason, message) => new Refusal(403, 'permission_denied', reason, message, {});
const notFound = (id, reason) =>
  new Refusal(404, 'not_found', reason, 'user not found', {
    type: 'validation_error',
    errors: [{ key: 'id', message: 'not_found', value: id }],
  });

const privilege = (roles) => Math.min(LOWEST_PRIVILEGE, ...roles.map((r) => ROLES[r]?.priority ?? LOWEST_PRIVILEGE));
const permissions = (roles, scopes) => {
  const granted = new Set(roles.flatMap((r) => [...(ROLES[r]?.permissions ?? [])]));
  return scopes ? new Set(scopes.filter((s) => granted.has(s))) : granted;
};

// The whole decision (spec §2, rules 1-11) and its audit event, in one
// transaction: a refusal commits its audit event only, a grant commits the
// change and its event together.
const decide = db.transaction((claims, id, ctx) => {
  const now = Date.now();
  // Rule 1: the actor (an unauthenticated outcome is not audited).
  const actor = sql.user.get(claims.sub);
  if (!actor || actor.status !== 'active') return { status: 401 };
  const actorChain = sql.chain.all(actor.organization_id);
  if (actorChain.length === 0 || actorChain.some((o) => o.deleted || o.suspended)) return { status: 401 };
  const issuedAt = typeof claims.iat === 'number' ? Math.round(claims.iat * 1000) : null;
  if (actor.tokens_valid_after != null && (issuedAt == null || issuedAt < actor.tokens_valid_after)) return { status: 401 };
  actor.roles = sql.roles.all(actor.id);

  let targetOrg = null;
  const audit = (outcome, reason) =>
    sql.audit.run(now, actor.id, VALID_ID.test(id) ? id : id.slice(0, 256), outcome, reason, ctx.requestId, ctx.ip,
      ctx.note, targetOrg);
  const refuse = (r) => {
    audit(r.code, r.reason);
    return r;
  };

  if (!VALID_ID.test(id)) return refuse(validation('invalid_argument', 'invalid_id', 'id', 'invalid_format', id));
  if (!permissions(actor.roles, claims.scopes).has('manage:users'))
    return refuse(denied('missing_permission', 'insufficient permissions'));
  if (id === actor.id) return refuse(denied('self_action', 'cannot perform administrative actions on yourself'));

  const target = sql.user.get(id);
  if (!target) return refuse(notFound(id, 'no_such_user'));
  targetOrg = target.organization_id;
  if (target.status === 'deleted') return refuse(notFound(id, 'user_deleted'));
  const chain = sql.chain.all(target.organization_id);
  if (chain.length === 0 || chain.some((o) => o.deleted)) return refuse(notFound(id, 'organization_deleted'));
  // Rule 6: outside the hierarchy looks exactly like a missing id.
  const actorOrg = actorChain[0];
  if (!chain.some((o) => o.id === actorOrg.id)) return refuse(notFound(id, 'outside_hierarchy'));
  if (RANK[chain[0].type] > RANK[actorOrg.type]) return refuse(notFound(id, 'rank_above_actor'));
  target.roles = sql.roles.all(target.id);
  if (chain[0].id === actorOrg.id && privilege(actor.roles) > privilege(target.roles))
    return refuse(denied('higher_privilege', 'cannot manage a user with higher privileges'));
  if (target.suspended_by_org_id != null) {
    const cascade = sql.chain.all(target.suspended_by_org_id);
    if (!cascade.some((o) => o.id === actorOrg.id))
      return refuse(denied('cascade_outside_authority', 'user was suspended by a parent organization'));
  }
  if (chain.some((o) => o.suspended))
    return refuse(validation('failed_precondition', 'organization_suspended', 'organization_id',
      'organization_suspended', target.organization_id));
  if (target.status !== 'suspended')
    return refuse(validation('failed_precondition', 'not_suspended', 'status', 'not_suspended', target.status));

  // Rule 11: compare-and-set on the version the checks saw.
  if (sql.reactivate.run(now, id, target.version).changes !== 1) return { status: 503 };
  audit('granted', 'reactivated');
  return {
    status: 200,
    user: {
      id: target.id, username: target.username, email: target.email, organization_id: target.organization_id,
      status: 'active', updated_at: new Date(now).toISOString(),
    },
  };
});

let requests = 0;
const requestIdPrefix = randomBytes(8).toString('hex');
const app = Fastify({
  logger: false,
  genReqId: (req) => {
    const given = req.headers['x-request-id'];
    return typeof given === 'string' && /^[\x21-\x7e]{1,128}$/.test(given) ? given : `${requestIdPrefix}-${++requests}`;
  },
});
app.addHook('onSend', async (req, reply) => {
  reply.header('x-request-id', req.id).header('cache-control', 'no-store');
});
// A PATCH with no body may still name a type; an empty body is accepted whatever it says it is.
app.addContentTypeParser('*', { parseAs: 'string' }, (req, body, done) => done(null, body));
app.removeContentTypeParser('application/json');
app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => done(null, body));

const envelope = (reply, code, message, data) => reply.code(code).send({ code, message, data });
const invalidToken = (reply) => reply.header('www-authenticate', 'Bearer').code(401).send({ code: 401, message: 'invalid token', data: {} });

app.patch('/api/users/:id/reactivate', async (req, reply) => {
  const header = req.headers.authorization;
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) return invalidToken(reply);
  let claims;
  try {
    ({ payload: claims } = await jwtVerify(header.slice(7), secret, {
      algorithms: ['HS256'],
      clockTolerance: 60,
      requiredClaims: ['exp', 'sub'],
    }));
  } catch {
    return invalidToken(reply);
  }
  // As useradmin-server by default: a token issued in the future is refused (no allowance).
  if (typeof claims.iat === 'number' && claims.iat * 1000 > Date.now()) return invalidToken(reply);
  const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean)
    : Array.isArray(claims.permissions) ? claims.permissions : null;

  // Optional body: empty, {} or {"reason": "..."} (at most 500 characters).
  let note = '';
  const raw = typeof req.body === 'string' ? req.body.trim() : '';
  if (raw !== '') {
    let body;
    try {
      body = JSON.parse(raw);
    } catch {
      body = undefined;
    }
    const keys = body && typeof body === 'object' && !Array.isArray(body) ? Object.keys(body) : null;
    if (!keys || keys.some((k) => k !== 'reason') || (keys.length === 1 && typeof body.reason !== 'string'))
      return envelope(reply, 400, 'validation failed',
        { type: 'validation_error', errors: [{ key: 'body', message: 'invalid_body', value: '' }] });
    note = keys.length === 1 ? body.reason : '';
    if ([...note].length > 500)
      return envelope(reply, 400, 'validation failed',
        { type: 'validation_error', errors: [{ key: 'reason', message: 'too_long', value: '' }] });
  }

  let outcome;
  try {
    outcome = decide({ sub: claims.sub, iat: claims.iat, scopes }, req.params.id, { requestId: req.id, ip: req.ip, note });
  } catch (e) {
    req.log.error(e);
    return envelope(reply, 500, 'internal server error', null);
  }
  if (outcome.status === 200) return envelope(reply, 200, 'user reactivated successfully', outcome.user);
  if (outcome.status === 401) return invalidToken(reply);
  if (outcome.status === 503) return envelope(reply, 503, 'service unavailable', null);
  return envelope(reply, outcome.status, outcome.message, outcome.data);
});

app.setNotFoundHandler((req, reply) => envelope(reply, 404, 'route not found', null));

const shutdown = () => app.close().then(() => { db.close(); process.exit(0); });
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

app.listen({ host: opts.host, port: opts.port }).then(() => {
  const { address, port } = app.server.address();
  console.log(`listening on http://${address}:${port}`);
});
