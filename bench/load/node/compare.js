// Checks that the Node reference service answers as useradmin-server does:
// the same requests, in the same order, to both servers running on copies of
// one database; status, WWW-Authenticate and the JSON body (less the
// timestamp) must match. Used by bench/load/run.sh --node.
//
//   node compare.js prepare DB        adds the rows the cases below need
//                                     (a seeded load-test database, before
//                                     it is copied for the two servers)
//   node compare.js run OURS_URL NODE_URL SECRET_FILE
import { readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { SignJWT } from 'jose';

const [, , command, ...args] = process.argv;

if (command === 'prepare') {
  const db = new Database(args[0]);
  const now = Date.now();
  const addUser = db.prepare(`INSERT INTO users (id, username, email, name, organization_id, status, suspended_at,
                                                 suspended_by, suspended_by_org_id, tokens_valid_after, updated_at, version)
                              VALUES (?, ?, ?, '', ?, ?, ?, ?, NULL, ?, ?, 1)`);
  const addRole = db.prepare('INSERT INTO user_roles (user_id, position, role) VALUES (?, 0, ?)');
  db.transaction(() => {
    // An admin of a distributor (usr_0 ... usr_99 are in its customers; usr_100 is not).
    addUser.run('usr_d0admin', 'usr_d0admin', 'usr_d0admin@load.test', 'org_d0', 'active', null, null, null, now);
    addRole.run('usr_d0admin', 'admin');
    // A suspended super in the same organization (rule 7).
    addUser.run('usr_d0super', 'usr_d0super', 'usr_d0super@load.test', 'org_d0', 'suspended', now - 1000, 'usr_root',
      now - 1000, now);
    addRole.run('usr_d0super', 'super');
    // usr_5's organization is suspended (rule 9), usr_7 was suspended by the owner's cascade (rule 8),
    // usr_8 is deleted (rule 5).
    db.prepare("UPDATE organizations SET suspended = 1, suspended_at = ? WHERE id = 'org_d0_r0_c5'").run(now);
    db.prepare("UPDATE users SET suspended_by_org_id = 'org_owner' WHERE id = 'usr_7'").run();
    db.prepare("UPDATE users SET status = 'deleted' WHERE id = 'usr_8'").run();
  })();
  db.close();
  process.exit(0);
}

if (command !== 'run') {
  console.error('usage: compare.js prepare DB | run OURS_URL NODE_URL SECRET_FILE');
  process.exit(2);
}

const [oursUrl, nodeUrl, secretFile] = args;
const secret = new TextEncoder().encode(readFileSync(secretFile, 'utf8').replace(/[\r\n]+$/, ''));
const now = Math.floor(Date.now() / 1000);
const token = (sub, extra = {}, exp = now + 3600, iat = now) =>
  new SignJWT({ ...extra }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setSubject(sub).setIssuedAt(iat)
    .setExpirationTime(exp).sign(secret);

const root = await token('usr_root');
const support = await token('usr_support');
const d0admin = await token('usr_d0admin');
// A character inside the signature, not the last one: the last base64url
// character of a 32-byte HMAC carries 2 unused bits, which jose (like
// Node's Buffer) ignores and useradmin refuses as non-canonical, so flipping
// only those would be answered differently without the signature changing.
const flip = (t, at) => t.slice(0, at) + (t[at] === 'A' ? 'B' : 'A') + t.slice(at + 1);
const badsig = flip(root, root.length - 10);

// [what, expected status, token (null: no header), id, body]
const cases = [
  ['reactivate', 200, root, 'usr_0'],
  ['again: not_suspended', 400, root, 'usr_0'],
  ['active user: not_suspended', 400, root, 'usr_active'],
  ['unknown id', 404, root, 'usr_nobody'],
  ['deleted user', 404, root, 'usr_8'],
  ['yourself', 403, root, 'usr_root'],
  ['malformed id', 400, root, 'bad%20id'],
  ['no manage:users', 403, support, 'usr_1'],
  ['scope narrows the grant', 403, await token('usr_root', { scope: 'read:users' }), 'usr_1'],
  ['bad signature', 401, badsig, 'usr_1'],
  ['no token', 401, null, 'usr_1'],
  ['expired token', 401, await token('usr_root', {}, now - 3600), 'usr_1'],
  ['unknown actor', 401, await token('usr_ghost'), 'usr_1'],
  ['issued in the future', 401, await token('usr_root', {}, now + 3600, now + 600), 'usr_1'],
  ['reason body', 200, root, 'usr_3', '{"reason":"back from leave"}'],
  ['distributor admin, own subtree', 200, d0admin, 'usr_2'],
  ['outside the hierarchy', 404, d0admin, 'usr_100'],
  ['organization suspended', 400, d0admin, 'usr_5'],
  ['higher privilege', 403, d0admin, 'usr_d0super'],
  ['suspended by a parent cascade', 403, d0admin, 'usr_7'],
  ['owner undoes the cascade', 200, root, 'usr_7'],
];

async function ask(base, [, , bearer, id, body]) {
  const headers = {};
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  if (body) headers['content-type'] = 'application/json';
  const r = await fetch(`${base}/api/users/${id}/reactivate`, { method: 'PATCH', headers, body });
  const json = await r.json();
  const stamp = json?.data?.updated_at;
  if (json?.data && 'updated_at' in json.data) json.data.updated_at = typeof stamp === 'string' && !Number.isNaN(Date.parse(stamp)) ? '<time>' : stamp;
  return { status: r.status, auth: r.headers.get('www-authenticate'), json: JSON.stringify(json) };
}

let passed = 0;
let failed = 0;
for (const c of cases) {
  const ours = await ask(oursUrl, c);
  const node = await ask(nodeUrl, c);
  const same = ours.status === node.status && ours.auth === node.auth && ours.json === node.json && ours.status === c[1];
  if (same) passed++;
  else failed++;
  console.log(`${same ? 'same' : 'DIFFERENT'}: ${c[0]}: ours ${ours.status} ${ours.json}` +
    (same ? '' : ` | node ${node.status} ${node.json} (expected ${c[1]})`));
}
console.log(`answers compared: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
