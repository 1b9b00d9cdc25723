// The search indexer: warms up (reporting progress), says READY through tend's notify client, then
// reindexes a batch now and then, sending typed `progress` events. Its metadata (TEND_METADATA)
// says which index and how large a batch. Heartbeats go out by themselves (watchdog in the spec).
import { connect } from 'tend/notify';

const tend = connect();
const { index = 'products', batch = 5 } = JSON.parse(process.env.TEND_METADATA ?? '{}');
const total = 20;
let done = 0;

tend.status(`warming up ${index}`);
const warm = setInterval(() => {
  done += batch;
  tend.emit('progress', { index, done: Math.min(done, total), total });
  console.log(`indexer: ${index} ${Math.min(done, total)}/${total}`);
  if (done < total) return;
  clearInterval(warm);
  tend.status(`serving ${index} (${total} documents)`);
  tend.ready();
}, 400);

let round = 0;
const reindex = setInterval(() => {
  round++;
  tend.status(`serving ${index}, reindexed ${round} times`);
  tend.emit('progress', { index, done: total, total });
}, 5000);

process.on('SIGTERM', () => {
  clearInterval(warm);
  clearInterval(reindex);
  console.log('indexer: stopping');
  process.exit(0);
});
