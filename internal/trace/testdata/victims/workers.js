// Node.js with worker threads and a child process; exits with status 9.
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');
const { execFileSync } = require('child_process');

if (isMainThread) {
  const results = [];
  let pending = 3;
  for (let i = 0; i < 3; i++) {
    const w = new Worker(__filename, { workerData: i });
    w.on('message', (m) => {
      results[i] = m;
      if (--pending === 0) {
        console.log(results.join(' '));
        console.log(execFileSync('/bin/echo', ['child']).toString().trim());
        process.exit(9);
      }
    });
  }
} else {
  let s = 0;
  for (let j = 0; j < 100000 * (workerData + 1); j++) s += j % 7;
  parentPort.postMessage(s);
}
