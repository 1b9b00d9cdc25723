// The HTTP API: one process per replica on PORT, /healthz for the readiness probe.
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 18080);
const replica = process.env.TEND_REPLICA ?? '0';
const server = createServer((req, res) => {
  if (req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ service: 'api', replica, db: process.env.DATABASE_URL, path: req.url }) + '\n');
});
server.listen(port, '127.0.0.1', () => console.log(`api/${replica} listening on http://127.0.0.1:${port}`));

process.on('SIGTERM', () => {
  console.log(`api/${replica} stopping`);
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
