// A oneshot migration: connects to the db, "applies" a few steps, exits 0.
import { connect } from 'node:net';

const port = Number(process.env.DB_PORT ?? 18432);
const steps = ['create table users', 'create table orders', 'add index orders_user'];
const socket = connect(port, '127.0.0.1', () => {
  for (const step of steps) socket.write(`${step}\n`);
  socket.end();
});
socket.on('data', (data) => process.stdout.write(`migrate: ${data}`));
socket.on('error', (err) => {
  console.error(`migrate: cannot reach the db: ${err.message}`);
  process.exit(1);
});
socket.on('close', () => {
  console.log(`migrate: ${steps.length} steps applied`);
  setTimeout(() => process.exit(0), 300);
});
