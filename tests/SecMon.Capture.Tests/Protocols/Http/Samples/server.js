// A small HTTP/1.1 server for record.sh: Basic auth on /private and /admin (alice:S3cret-pass, admin:admin), Digest
// auth (RFC 7616, MD5, qop=auth) on /camera (operator:0per4tor, and Jäsøn:Doe as a non-ASCII user), a chunked
// response on /chunked, a POST that reads its body, 204 on /empty. Usage: node server.js HOST PORT
'use strict';
const http = require('http');
const crypto = require('crypto');
const digestUsers = new Map([['operator', '0per4tor'], ['Jäsøn', 'Doe']]);
const realm = 'camera';
const nonce = crypto.randomBytes(16).toString('hex');
const md5 = (s) => crypto.createHash('md5').update(s, 'utf8').digest('hex');

function digestAuthorised(req) {
  const h = req.headers.authorization || '';
  if (!h.startsWith('Digest ')) return false;
  const p = {};
  for (const m of h.slice(7).matchAll(/([a-z*]+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) p[m[1]] = (m[2] ?? m[3]).replace(/\\(.)/g, '$1');
  // node hands header bytes over as Latin-1: the user name's UTF-8 bytes are read back as such.
  const user = Buffer.from(p.username || '', 'latin1').toString('utf8');
  const password = digestUsers.get(user);
  if (password === undefined || p.nonce !== nonce) return false;
  const ha1 = md5(`${user}:${realm}:${password}`);
  const ha2 = md5(`${req.method}:${p.uri}`);
  return p.response === md5(`${ha1}:${nonce}:${p.nc}:${p.cnonce}:${p.qop}:${ha2}`);
}
const [host, port] = [process.argv[2], Number(process.argv[3])];
const users = new Set(['alice:S3cret-pass', 'admin:admin']);

function authorised(req) {
  const h = req.headers.authorization || '';
  if (!h.startsWith('Basic ')) return false;
  return users.has(Buffer.from(h.slice(6), 'base64').toString('utf8'));
}

http.createServer((req, res) => {
  const path = req.url.split('?')[0];
  let body = 0;
  req.on('data', (d) => { body += d.length; });
  req.on('end', () => {
    if (path === '/camera') {
      if (!digestAuthorised(req)) {
        res.writeHead(401, { 'WWW-Authenticate': `Digest realm="${realm}", qop="auth", algorithm=MD5, nonce="${nonce}"`, 'Content-Type': 'text/plain' });
        res.end('authentication required\n');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'image/jpeg' });
      res.end(Buffer.alloc(2048));
    } else if (path === '/private' || path.startsWith('/admin') || path.startsWith('/cgi-bin/')) {
      if (!authorised(req)) {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="device"', 'Content-Type': 'text/plain' });
        res.end('authentication required\n');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end('<html><body>settings</body></html>\n');
    } else if (path === '/chunked') {
      res.writeHead(200, { 'Content-Type': 'application/json' }); // no length: node sends it chunked
      res.write('{"part":1,');
      setTimeout(() => { res.write('"part2":"' + 'x'.repeat(3000) + '",'); res.end('"end":true}\n'); }, 50);
    } else if (path === '/empty') {
      res.writeHead(204);
      res.end();
    } else if (req.method === 'POST') {
      res.writeHead(201, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ received: body }) + '\n');
    } else {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('hello from ' + path + '\n');
    }
  });
}).listen(port, host);
