// A small HTTP/1.1 server for record.sh: Basic auth on /private and /admin (alice:S3cret-pass, admin:admin), a chunked
// response on /chunked, a POST that reads its body, 204 on /empty. Usage: node server.js HOST PORT
'use strict';
const http = require('http');
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
    if (path === '/private' || path.startsWith('/admin') || path.startsWith('/cgi-bin/')) {
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
