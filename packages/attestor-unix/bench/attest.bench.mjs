// Per-call cost of the unix attestor on a live process (this bench's own PID, read through the real /proc and
// /etc, binary-hash cache warm): `attest(pid)` followed by `confirmPeer(peer)`, which is what the Workload API server
// pays per new connection after readPeerCredentials. Same-run baseline, measured interleaved over several rounds
// (medians printed): readFileSync('/proc/<pid>/status') alone, the cheapest read any attestation must make.
// Reference lines split the subject into attest alone and confirmPeer alone.
// Run after `tsc -b packages/attestor-unix` (imports the built package): node packages/attestor-unix/bench/attest.bench.mjs
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUnixAttestor } from '@wid/attestor-unix';

const ROUNDS = 7;
const PER_ROUND = 500;

const dir = mkdtempSync(join(tmpdir(), 'wid-unix-attest-bench-'));
const path = join(dir, 'bench.sock');
const accepted = new Promise((resolve) => {
  const server = createServer((socket) => resolve({ server, socket }));
  server.listen(path);
});
const client = connect(path);
const { server, socket } = await accepted;

const unix = createUnixAttestor();
const peer = unix.readPeerCredentials(socket);
const pid = process.pid;
if (peer.pid !== pid) throw new Error(`unexpected peer pid ${peer.pid}`);
const first = await unix.attest(pid);
await unix.confirmPeer(peer);
if (first.pid !== pid || typeof first.binary_hash !== 'string') throw new Error(`unexpected ${JSON.stringify(first)}`);
const statusFile = `/proc/${pid}/status`;

async function timeEach(n, fn) {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await fn();
    out[i] = Number(process.hrtime.bigint() - t) / 1e6;
  }
  return out;
}
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const median = (xs) => pct(xs, 50);

const subjects = {
  full: async () => {
    await unix.attest(pid);
    await unix.confirmPeer(peer);
  },
  baseline: () => readFileSync(statusFile, 'latin1'),
  attest: () => unix.attest(pid),
  confirm: () => unix.confirmPeer(peer),
};

for (const fn of Object.values(subjects)) await timeEach(200, fn); // warm-up

const r = Object.fromEntries(Object.keys(subjects).map((k) => [k, { p50: [], p99: [], ops: [] }]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, fn] of Object.entries(subjects)) {
    const t = process.hrtime.bigint();
    const xs = await timeEach(PER_ROUND, fn);
    const secs = Number(process.hrtime.bigint() - t) / 1e9;
    r[name].p50.push(pct(xs, 50));
    r[name].p99.push(pct(xs, 99));
    r[name].ops.push(PER_ROUND / secs);
  }
}
const m = Object.fromEntries(
  Object.entries(r).map(([k, v]) => [k, { p50: median(v.p50), p99: median(v.p99), ops: median(v.ops) }]),
);
const ms = (x) => `${x.toFixed(3)} ms`;
const ops = (x) => Math.round(x).toLocaleString('en-US');
const { full, baseline: b, attest, confirm } = m;
console.log(
  `attestor-unix attest(pid)+confirmPeer(peer) (live pid, warm hash cache): p50 ${ms(full.p50)} p99 ${ms(full.p99)} | baseline readFileSync(/proc/<pid>/status): p50 ${ms(b.p50)} p99 ${ms(b.p99)} | ratio p50 ${(full.p50 / b.p50).toFixed(2)} p99 ${(full.p99 / b.p99).toFixed(2)}`,
);
console.log(
  `attestor-unix attest(pid)+confirmPeer(peer) (live pid, warm hash cache): ${ops(full.ops)} ops/s | baseline readFileSync(/proc/<pid>/status): ${ops(b.ops)} ops/s | ratio ${(full.ops / b.ops).toFixed(3)}`,
);
console.log(
  `attestor-unix reference: attest(pid) alone p50 ${ms(attest.p50)} p99 ${ms(attest.p99)} (${ops(attest.ops)} ops/s); confirmPeer(peer) alone p50 ${ms(confirm.p50)} p99 ${ms(confirm.p99)} (${ops(confirm.ops)} ops/s)`,
);
const s = unix.stats();
console.log(
  `attestor-unix binary hashes during the run: computed ${s.binaryHashesComputed}, cache hits ${s.binaryHashCacheHits}`,
);
client.destroy();
socket.destroy();
server.close();
rmSync(dir, { recursive: true, force: true });
