// A JWK Set issuer for the --jwks-url tests: HTTPS (node's own https module,
// no packages) serving DIR/jwks.json on every path, with the Cache-Control
// header in DIR/cache-control when that file exists. The test rotates keys
// by rewriting those files; every request is counted in DIR/requests.
//   node server.js CERT KEY DIR [PORT]
'use strict';
const fs = require('fs');
const https = require('https');
const path = require('path');

const [cert, key, dir, port] = process.argv.slice(2);
let requests = 0;

const server = https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, (req, res) => {
  requests += 1;
  fs.writeFileSync(path.join(dir, 'requests'), String(requests));
  let body;
  try {
    body = fs.readFileSync(path.join(dir, 'jwks.json'));
  } catch (e) {
    res.writeHead(503, { 'content-type': 'text/plain' });
    res.end('no key set\n');
    return;
  }
  const headers = { 'content-type': 'application/json' };
  try {
    headers['cache-control'] = fs.readFileSync(path.join(dir, 'cache-control'), 'utf8').trim();
  } catch (e) {
    // no Cache-Control header
  }
  res.writeHead(200, headers);
  res.end(body);
});
server.keepAliveTimeout = 60000;
server.listen(Number(port || 0), '127.0.0.1', () => {
  console.log('jwks listening on ' + server.address().port);
});
