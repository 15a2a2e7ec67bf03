// Workload API server benchmarks (run `corepack pnpm exec tsc -b packages/workload-api-server` first; `pnpm bench`
// does). Imports the BUILT packages.
//
// 1. New connection + FetchX509SVID -> first response, for a cached identity (the source hands out one shared
//    X509Context), sequentially: p50/p99 and streams/s. Baseline, interleaved in the same run: new connection + one
//    unary call of a bare grpc-js service over the same kind of Unix socket (own net.Server + connection injector).
// 2. 10,000 concurrent FetchX509SVID streams (from a child process: 100 connections x 100 streams) receive one
//    rotation: time from the push until the last stream has it, and server RSS per open stream.
//
// Goals: p99 <= 2 ms; all 10,000 pushed within 1 s; <= 8 KiB per stream.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { credentials, Metadata, Server, ServerCredentials, makeGenericClientConstructor } from '@grpc/grpc-js';
import { createWorkloadApiServer } from '@wid/workload-api-server';
import { FakeWorkloadIdentitySource } from '@wid/workload-api-server/testing';
import { createWorkloadApiMetadata, loadWorkloadApiDefinition } from '@wid/workload-api-proto';

const STREAMS = Number(process.env.WID_BENCH_STREAMS ?? 10_000);
const CONNECTIONS = 100;
const now = () => performance.timeOrigin + performance.now();

// ---------------------------------------------------------------- helpers
function svid(rev) {
  return {
    spiffeId: 'spiffe://example.org/bench',
    // Sizes of a real P-256 SVID: ~600 B leaf, ~500 B CA, 138 B PKCS#8 key.
    certChain: [Buffer.alloc(600, rev)],
    privateKey: Buffer.alloc(138, rev),
    bundle: [Buffer.alloc(500, 1)],
    hint: 'bench',
  };
}

async function loadAttestor() {
  try {
    if (process.env.WID_BENCH_FAKE_ATTESTOR) throw new Error('fake requested');
    const mod = await import(new URL('../../attestor-unix/dist/index.js', import.meta.url).href);
    const unix = mod.createUnixAttestor();
    await unix.attest(process.pid);
    return { attestor: unix, label: 'real @wid/attestor-unix (SO_PEERCRED + /proc)' };
  } catch {
    return {
      label: 'fake attestor (@wid/attestor-unix not built)',
      attestor: {
        name: 'unix',
        readPeerCredentials: () => ({ pid: process.pid, uid: 0, gid: 0 }),
        attest: async (pid) => ({ pid, uid: 0, gid: 0 }),
        confirmPeer: async () => {},
      },
    };
  }
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** A bare grpc-js unary service on its own Unix socket, accepted the same way (baseline). */
async function startBaseline(path) {
  const server = new Server();
  const service = {
    Ping: {
      path: '/bench.Ping/Ping',
      requestStream: false,
      responseStream: false,
      requestSerialize: (b) => b,
      requestDeserialize: (b) => b,
      responseSerialize: (b) => b,
      responseDeserialize: (b) => b,
    },
  };
  server.addService(service, { Ping: (_call, cb) => cb(null, Buffer.alloc(1240, 1)) });
  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  const net = createServer((socket) => injector.injectConnection(socket));
  await new Promise((r) => net.listen(path, r));
  const Client = makeGenericClientConstructor(service, 'Ping');
  return {
    Client,
    close: async () => {
      server.forceShutdown();
      await new Promise((r) => net.close(r));
    },
  };
}

async function timeBaseline(Client, target) {
  const t0 = performance.now();
  const client = new Client(target, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  await new Promise((resolve, reject) =>
    client.Ping(Buffer.alloc(0), new Metadata(), (e) => (e ? reject(e) : resolve())),
  );
  const dt = performance.now() - t0;
  client.close();
  return dt;
}

async function timeFetch(Client, target) {
  const t0 = performance.now();
  const client = new Client(target, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  const stream = client.FetchX509SVID({}, createWorkloadApiMetadata());
  await new Promise((resolve, reject) => {
    stream.once('data', resolve);
    stream.once('error', reject);
  });
  const dt = performance.now() - t0;
  stream.cancel();
  client.close();
  return dt;
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'wid-bench-'));
  try {
    const { attestor, label } = await loadAttestor();
    const identities = new FakeWorkloadIdentitySource({
      x509Context: { svids: [svid(1)], federatedBundles: new Map() },
      recordCalls: false,
    });
    const path = join(dir, 'agent.sock');
    const server = createWorkloadApiServer({ listen: `unix://${path}`, attestors: [attestor], identities });
    await server.listen();
    const baseline = await startBaseline(join(dir, 'ping.sock'));
    const { Client } = loadWorkloadApiDefinition();
    const target = `unix://${path}`;
    const baseTarget = `unix://${join(dir, 'ping.sock')}`;

    // ---- 1. connect + first response, interleaved rounds
    for (let i = 0; i < 50; i++) {
      await timeFetch(Client, target);
      await timeBaseline(baseline.Client, baseTarget);
    }
    const subject = [];
    const base = [];
    const roundSubject = [];
    const roundBase = [];
    const ROUNDS = 5;
    const PER_ROUND = 300;
    for (let r = 0; r < ROUNDS; r++) {
      let t = performance.now();
      for (let i = 0; i < PER_ROUND; i++) subject.push(await timeFetch(Client, target));
      roundSubject.push(PER_ROUND / ((performance.now() - t) / 1000));
      t = performance.now();
      for (let i = 0; i < PER_ROUND; i++) base.push(await timeBaseline(baseline.Client, baseTarget));
      roundBase.push(PER_ROUND / ((performance.now() - t) / 1000));
    }
    subject.sort((a, b) => a - b);
    base.sort((a, b) => a - b);
    const sRate = median(roundSubject);
    const bRate = median(roundBase);
    console.log(`attestor: ${label}`);
    console.log(
      `workload-api new connection + FetchX509SVID first response: ${sRate.toFixed(0)} streams/s ` +
        `(p50 ${percentile(subject, 50).toFixed(2)} ms, p99 ${percentile(subject, 99).toFixed(2)} ms) | ` +
        `baseline new connection + grpc-js unary ping: ${bRate.toFixed(0)} calls/s ` +
        `(p50 ${percentile(base, 50).toFixed(2)} ms, p99 ${percentile(base, 99).toFixed(2)} ms) | ratio ${(sRate / bRate).toFixed(2)} ` +
        `| goal p99 <= 2 ms: ${percentile(subject, 99) <= 2 ? 'met' : 'NOT met'}`,
    );
    await baseline.close();

    // ---- 2. 10,000 streams, one rotation
    globalThis.gc?.();
    await new Promise((r) => setTimeout(r, 200));
    globalThis.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const heapBefore = process.memoryUsage().heapUsed;
    const child = fork(fileURLToPath(import.meta.url), ['streams-child', target, String(STREAMS), String(STREAMS / CONNECTIONS)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const messages = [];
    let wake;
    child.on('message', (m) => {
      messages.push(m);
      wake?.();
    });
    const waitFor = async (type, ms) => {
      const deadline = Date.now() + ms;
      for (;;) {
        const m = messages.find((x) => x.type === type || x.type === 'error');
        if (m) {
          if (m.type === 'error') throw new Error(`stream failed: ${m.details}`);
          return m;
        }
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${type}`);
        await new Promise((r) => {
          wake = r;
          setTimeout(r, 100);
        });
      }
    };
    const tOpen = performance.now();
    await waitFor('open', 60_000);
    const openSeconds = (performance.now() - tOpen) / 1000;
    globalThis.gc?.();
    await new Promise((r) => setTimeout(r, 200));
    globalThis.gc?.();
    const rssPerStream = (process.memoryUsage().rss - rssBefore) / STREAMS;
    const heapPerStream = (process.memoryUsage().heapUsed - heapBefore) / STREAMS;
    const pushedAt = now();
    identities.setX509Context({ svids: [svid(2)], federatedBundles: new Map() });
    const rotated = await waitFor('rotated', 30_000);
    const pushMs = rotated.at - pushedAt;
    console.log(
      `workload-api rotation pushed to ${STREAMS} open streams (${CONNECTIONS} connections): all received in ${pushMs.toFixed(0)} ms ` +
        `(${(STREAMS / (pushMs / 1000)).toFixed(0)} streams/s; opening them took ${openSeconds.toFixed(2)} s) | ` +
        `server memory per open stream: RSS ${(rssPerStream / 1024).toFixed(2)} KiB, heap ${(heapPerStream / 1024).toFixed(2)} KiB | ` +
        `goals: push <= 1000 ms ${pushMs <= 1000 ? 'met' : 'NOT met'}, <= 8 KiB/stream ${rssPerStream <= 8192 ? 'met' : 'NOT met'}`,
    );
    child.send({ type: 'exit' });
    await new Promise((r) => child.once('exit', r));
    await server.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- child: holds many streams open
function streamsChild() {
  const [, , , target, total, perConn] = process.argv;
  const { Client } = loadWorkloadApiDefinition();
  const n = Number(total);
  const clients = [];
  let firsts = 0;
  let seconds = 0;
  let lastSecondAt = 0;
  for (let i = 0; i < n; i++) {
    if (i % Number(perConn) === 0) {
      clients.push(new Client(target, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }));
    }
    const stream = clients.at(-1).FetchX509SVID({}, createWorkloadApiMetadata());
    let got = 0;
    stream.on('data', () => {
      got++;
      if (got === 1 && ++firsts === n) process.send({ type: 'open' });
      if (got === 2) {
        lastSecondAt = now();
        if (++seconds === n) process.send({ type: 'rotated', at: lastSecondAt });
      }
    });
    stream.on('error', (e) => {
      if (e.code !== 1) process.send({ type: 'error', details: e.details });
    });
  }
  process.on('message', (m) => {
    if (m.type === 'exit') {
      for (const c of clients) c.close();
      process.exit(0);
    }
  });
}


if (process.argv[2] === 'streams-child') streamsChild();
else await main();
