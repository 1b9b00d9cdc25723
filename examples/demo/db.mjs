// A stand-in database: a TCP server that answers each line with "OK <line>".
// Ready once it listens; stops on SIGTERM after closing its connections.
import { createServer } from 'node:net';

const port = Number(process.env.DB_PORT ?? 18432);
const sockets = new Set();
const server = createServer((socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
  socket.on('data', (data) => socket.write(`OK ${data.toString().trim()}\n`));
});
server.listen(port, '127.0.0.1', () => console.log(`db listening on 127.0.0.1:${port}`));

process.on('SIGTERM', () => {
  console.log('db stopping');
  for (const s of sockets) s.destroy();
  server.close(() => process.exit(0));
});
