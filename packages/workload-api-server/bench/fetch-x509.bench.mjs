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
import { credentials, Metadata, makeGenericClientConstructor, Server, ServerCredentials } from '@grpc/grpc-js';
import { createWorkloadApiMetadata, loadWorkloadApiDefinition } from '@wid/workload-api-proto';
import { createWorkloadApiServer } from '@wid/workload-api-server';
import { FakeWorkloadIdentitySource } from '@wid/workload-api-server/testing';

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
      label: 'fake attestor (WID_BENCH_FAKE_ATTESTOR set, or @wid/attestor-unix not built)',
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
const PING_SERVICE = {
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

async function startBaseline(path) {
  const server = new Server();
  server.addService(PING_SERVICE, { Ping: (_call, cb) => cb(null, Buffer.alloc(1240, 1)) });
  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  const net = createServer((socket) => injector.injectConnection(socket));
  await new Promise((r) => net.listen(path, r));
  return {
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
    const target = `unix://${path}`;
    const baseTarget = `unix://${join(dir, 'ping.sock')}`;

    // ---- 1. connect + first response, interleaved rounds, measured by a separate workload process (as in real life:
    // the client's own allocations must not pause the server's event loop).
    const latency = await new Promise((resolve, reject) => {
      const child = fork(fileURLToPath(import.meta.url), ['latency-child', target, baseTarget], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`latency process exited (${code})`)));
    });
    const { subject, base, sRate, bRate } = latency;
    console.log(`attestor: ${label}`);
    console.log(
      `workload-api new connection + FetchX509SVID first response: ${sRate.toFixed(0)} streams/s ` +
        `(p50 ${percentile(subject, 50).toFixed(2)} ms, p99 ${percentile(subject, 99).toFixed(2)} ms) | ` +
        `baseline new connection + grpc-js unary ping: ${bRate.toFixed(0)} calls/s ` +
        `(p50 ${percentile(base, 50).toFixed(2)} ms, p99 ${percentile(base, 99).toFixed(2)} ms) | ratio ${(sRate / bRate).toFixed(2)} ` +
        `| goal p99 <= 2 ms: ${percentile(subject, 99) <= 2 ? 'met' : 'NOT met'}`,
    );
    await baseline.close();

    await server.close();

    // ---- 2. 10,000 streams, one rotation: each server in a fresh process (clean RSS), bare grpc-js first.
    const bare = await runInChild('bare', dir);
    const wid = await runInChild('wid', dir);
    console.log(
      `workload-api rotation pushed to ${STREAMS} open streams (${CONNECTIONS} connections): all received in ${wid.pushMs.toFixed(0)} ms ` +
        `(opening them took ${wid.openSeconds.toFixed(2)} s) | baseline bare grpc-js server stream push: ${bare.pushMs.toFixed(0)} ms | ` +
        `ratio ${(bare.pushMs / wid.pushMs).toFixed(2)} | goal <= 1000 ms: ${wid.pushMs <= 1000 ? 'met' : 'NOT met'}`,
    );
    console.log(
      `workload-api server memory per open stream: RSS ${kib(wid.rssPerStream)} KiB (heap ${kib(wid.heapPerStream)} KiB) | ` +
        `baseline bare grpc-js server stream: RSS ${kib(bare.rssPerStream)} KiB (heap ${kib(bare.heapPerStream)} KiB) | ` +
        `ratio ${(bare.rssPerStream / wid.rssPerStream).toFixed(2)} | goal <= 8 KiB: ${wid.rssPerStream <= 8192 ? 'met' : 'NOT met'}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- part 2 processes
const kib = (bytes) => (bytes / 1024).toFixed(2);

const BARE_SERVICE = {
  Stream: {
    path: '/bench.Stream/Stream',
    requestStream: false,
    responseStream: true,
    requestSerialize: (b) => b,
    requestDeserialize: (b) => b,
    responseSerialize: (b) => b,
    responseDeserialize: (b) => b,
  },
};

/** Forks a server process of `kind` ('wid' | 'bare') and returns what it measured. */
function runInChild(kind, dir) {
  const child = fork(fileURLToPath(import.meta.url), ['server-child', kind, dir], {
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => (m.error ? reject(new Error(m.error)) : resolve(m)));
    child.once('exit', (code) => reject(new Error(`${kind} server process exited (${code})`)));
  });
}

async function settle() {
  globalThis.gc?.();
  await new Promise((r) => setTimeout(r, 200));
  globalThis.gc?.();
}

/** Server side of part 2: start a server, let a client process open STREAMS streams, measure, push once. */
async function serverChild(kind, dir) {
  const path = join(dir, `${kind}.sock`);
  let push;
  let close;
  if (kind === 'wid') {
    const { attestor } = await loadAttestor();
    const identities = new FakeWorkloadIdentitySource({
      x509Context: { svids: [svid(1)], federatedBundles: new Map() },
      recordCalls: false,
    });
    const server = createWorkloadApiServer({ listen: `unix://${path}`, attestors: [attestor], identities });
    await server.listen();
    push = () => identities.setX509Context({ svids: [svid(2)], federatedBundles: new Map() });
    close = () => server.close();
  } else {
    const server = new Server();
    const calls = new Set();
    const first = Buffer.alloc(1300, 1);
    server.addService(BARE_SERVICE, {
      Stream: (call) => {
        calls.add(call);
        call.on('cancelled', () => calls.delete(call));
        call.write(first);
      },
    });
    const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
    const net = createServer((socket) => injector.injectConnection(socket));
    await new Promise((r) => net.listen(path, r));
    const second = Buffer.alloc(1300, 2);
    push = () => {
      for (const call of calls) call.write(second);
    };
    close = async () => {
      server.forceShutdown();
      await new Promise((r) => net.close(r));
    };
  }
  await settle();
  const before = process.memoryUsage();
  const clients = fork(fileURLToPath(import.meta.url), ['clients-child', kind, `unix://${path}`], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const messages = [];
  let wake;
  clients.on('message', (m) => {
    messages.push(m);
    wake?.();
  });
  const waitFor = async (type, ms) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = messages.find((x) => x.type === type || x.type === 'error');
      if (m) {
        if (m.type === 'error') throw new Error(`${kind} stream failed: ${m.details}`);
        return m;
      }
      if (Date.now() > deadline) throw new Error(`${kind}: timed out waiting for ${type}`);
      await new Promise((r) => {
        wake = r;
        setTimeout(r, 100);
      });
    }
  };
  try {
    const tOpen = performance.now();
    await waitFor('open', 60_000);
    const openSeconds = (performance.now() - tOpen) / 1000;
    await settle();
    const after = process.memoryUsage();
    const pushedAt = now();
    push();
    const rotated = await waitFor('rotated', 30_000);
    process.send({
      pushMs: rotated.at - pushedAt,
      openSeconds,
      rssPerStream: (after.rss - before.rss) / STREAMS,
      heapPerStream: (after.heapUsed - before.heapUsed) / STREAMS,
    });
  } catch (error) {
    process.send({ error: String(error?.message ?? error) });
  } finally {
    clients.send({ type: 'exit' });
    await new Promise((r) => clients.once('exit', r));
    await close();
    process.exit(0);
  }
}

/** Client side of part 2: CONNECTIONS connections, STREAMS streams in total; reports when all have 1, then 2 messages. */
function clientsChild(kind, target) {
  const Client =
    kind === 'wid' ? loadWorkloadApiDefinition().Client : makeGenericClientConstructor(BARE_SERVICE, 'Stream');
  const open = (client) =>
    kind === 'wid'
      ? client.FetchX509SVID({}, createWorkloadApiMetadata())
      : client.Stream(Buffer.alloc(0), new Metadata());
  const perConnection = STREAMS / CONNECTIONS;
  const clients = [];
  let firsts = 0;
  let seconds = 0;
  for (let i = 0; i < STREAMS; i++) {
    if (i % perConnection === 0) {
      clients.push(new Client(target, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }));
    }
    const stream = open(clients.at(-1));
    let got = 0;
    stream.on('data', () => {
      got++;
      if (got === 1 && ++firsts === STREAMS) process.send({ type: 'open' });
      if (got === 2 && ++seconds === STREAMS) process.send({ type: 'rotated', at: now() });
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

/** Part 1 client: sequential new connection + first response, subject and baseline interleaved by round. */
async function latencyChild(target, baseTarget) {
  const { Client } = loadWorkloadApiDefinition();
  const Ping = makeGenericClientConstructor(PING_SERVICE, 'Ping');
  for (let i = 0; i < 50; i++) {
    await timeFetch(Client, target);
    await timeBaseline(Ping, baseTarget);
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
    for (let i = 0; i < PER_ROUND; i++) base.push(await timeBaseline(Ping, baseTarget));
    roundBase.push(PER_ROUND / ((performance.now() - t) / 1000));
  }
  subject.sort((a, b) => a - b);
  base.sort((a, b) => a - b);
  process.send({ subject, base, sRate: median(roundSubject), bRate: median(roundBase) });
  process.exit(0);
}

if (process.argv[2] === 'latency-child') await latencyChild(process.argv[3], process.argv[4]);
else if (process.argv[2] === 'server-child') await serverChild(process.argv[3], process.argv[4]);
else if (process.argv[2] === 'clients-child') clientsChild(process.argv[3], process.argv[4]);
else await main();
