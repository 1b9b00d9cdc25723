// A worker of the pool: takes a job every WORK_INTERVAL_MS and prints it.
const replica = process.env.TEND_REPLICA ?? '0';
const every = Number(process.env.WORK_INTERVAL_MS ?? 1000);
let job = 0;
const timer = setInterval(() => console.log(`worker/${replica}: processed job ${++job}`), every);

process.on('SIGTERM', () => {
  clearInterval(timer);
  console.log(`worker/${replica}: stopping after ${job} jobs`);
  process.exit(0);
});
