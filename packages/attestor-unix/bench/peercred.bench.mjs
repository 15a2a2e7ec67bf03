// readPeerCredentials on a connected Unix socket vs a same-run baseline of fs.fstatSync on the same fd (the
// cheapest syscall Node exposes on it). Measured interleaved over several rounds; medians printed.
// Run after `tsc -b packages/attestor-unix` (imports the built package): node packages/attestor-unix/bench/peercred.bench.mjs
import { fstatSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPeerCredentials } from '@wid/attestor-unix';

const ROUNDS = 7;
const ROUND_MS = 200;

function opsPerSecond(fn) {
  let n = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(ROUND_MS) * 1_000_000n;
  let now = start;
  while (now < end) {
    for (let i = 0; i < 200; i++) fn();
    n += 200;
    now = process.hrtime.bigint();
  }
  return (n * 1e9) / Number(now - start);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x) => Math.round(x).toLocaleString('en-US');

const dir = mkdtempSync(join(tmpdir(), 'wid-peercred-bench-'));
const path = join(dir, 'bench.sock');
const accepted = new Promise((resolve) => {
  const server = createServer((socket) => resolve({ server, socket }));
  server.listen(path);
});
const client = connect(path);
const { server, socket } = await accepted;
const fd = socket._handle.fd;

// Sanity: the peer is this very process.
if (readPeerCredentials(socket).pid !== process.pid) throw new Error('unexpected peer pid');

const subjects = {
  baseline: () => fstatSync(fd),
  peercredOnly: () => readPeerCredentials(socket, { captureProcess: false }),
  full: () => readPeerCredentials(socket),
};
const results = { baseline: [], peercredOnly: [], full: [] };
for (const fn of Object.values(subjects)) opsPerSecond(fn); // warm-up
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, fn] of Object.entries(subjects)) results[name].push(opsPerSecond(fn));
}
const base = median(results.baseline);
for (const [name, label] of [
  ['peercredOnly', 'readPeerCredentials (SO_PEERCRED only, captureProcess: false)'],
  ['full', 'readPeerCredentials (SO_PEERCRED + SO_PEERPIDFD + /proc start time)'],
]) {
  const m = median(results[name]);
  console.log(
    `attestor-unix ${label}: ${fmt(m)} ops/s | baseline fs.fstatSync(socket fd): ${fmt(base)} ops/s | ratio ${(m / base).toFixed(2)}`,
  );
}
client.destroy();
socket.destroy();
server.close();
rmSync(dir, { recursive: true, force: true });
