import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  assertPeerCredentialsAvailable,
  confirmPeer,
  createUnixAttestor,
  type PeerCredentials,
  readPeerCredentials,
  type UnixAttestorError,
} from '../src/index.js';
import { defaultAddonPaths } from '../src/internal/addon.js';

const etcRoot = fileURLToPath(new URL('./fixtures/etc/', import.meta.url));
const [kernelMajor = 0, kernelMinor = 0] = release().split('.').map(Number);
const kernelHasPeerPidfd = kernelMajor > 6 || (kernelMajor === 6 && kernelMinor >= 5);

let dir: string;
let socketPath: string;
let server: Server;
/** Runs synchronously in the 'connection' handler, as a Workload API server would. */
let onConnection: (socket: Socket) => unknown = () => undefined;
const accepted: { socket: Socket; result?: unknown; error?: unknown }[] = [];
const waiters: (() => void)[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wid-peercred-'));
  chmodSync(dir, 0o755); // the uid 65534 child must reach the socket
  socketPath = join(dir, 'api.sock');
  server = createServer((socket) => {
    const entry: (typeof accepted)[number] = { socket };
    try {
      entry.result = onConnection(socket);
    } catch (e) {
      entry.error = e;
    }
    accepted.push(entry);
    for (const w of waiters.splice(0)) w();
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  chmodSync(socketPath, 0o777);
});

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const a of accepted.splice(0)) a.socket.destroy();
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

/** Spawns `node -e` that connects to the server and stays until killed; resolves once the server accepted it. */
async function connectChild(options: { uid?: number; gid?: number } = {}) {
  const before = accepted.length;
  const arrived = new Promise<void>((resolve) => {
    const check = () => (accepted.length > before ? resolve() : waiters.push(check));
    check();
  });
  const child = spawn(
    process.execPath,
    ['-e', `require('node:net').connect(${JSON.stringify(socketPath)}); setInterval(() => {}, 60000);`],
    { cwd: dir, stdio: 'ignore', ...options },
  );
  children.push(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await arrived;
  const entry = accepted[before]!;
  return { child, entry, exited };
}

function codeOf(f: () => unknown): UnixAttestorError {
  try {
    f();
  } catch (e) {
    return e as UnixAttestorError;
  }
  throw new Error('expected a throw');
}

async function rejection(p: Promise<unknown>): Promise<UnixAttestorError> {
  try {
    await p;
  } catch (e) {
    return e as UnixAttestorError;
  }
  throw new Error('expected a rejection');
}

describe('readPeerCredentials on a real Unix socket', () => {
  it('returns the child process pid and the uid/gid of this user, from the kernel', async () => {
    const unix = createUnixAttestor();
    onConnection = (s) => unix.readPeerCredentials(s);
    const { child, entry } = await connectChild();
    expect(entry.error).toBeUndefined();
    const peer = entry.result as PeerCredentials;
    expect(peer.pid).toBe(child.pid);
    expect(peer.uid).toBe(process.getuid?.());
    expect(peer.gid).toBe(process.getgid?.());
    // The token records the start time from /proc and whether a pidfd vouched for it (Linux >= 6.5).
    const token = peer.processToken as { startTime: string; pidfd: boolean };
    const stat = readFileSync(`/proc/${child.pid}/stat`, 'latin1');
    expect(token.startTime).toBe(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    expect(token.pidfd).toBe(kernelHasPeerPidfd);
    expect(Object.isFrozen(peer)).toBe(true);
    await unix.confirmPeer(peer);
  });

  it('reads a different UID and GID from the kernel (child spawned as 65534)', async () => {
    const unix = createUnixAttestor({ etcRoot });
    onConnection = (s) => unix.readPeerCredentials(s);
    const { child, entry } = await connectChild({ uid: 65534, gid: 65534 });
    const peer = entry.result as PeerCredentials;
    expect(peer).toMatchObject({ pid: child.pid, uid: 65534, gid: 65534 });
    const attrs = await unix.attest(peer.pid);
    expect(attrs).toMatchObject({ pid: child.pid, uid: 65534, gid: 65534, user: 'nobody', group: 'nogroup' });
    await unix.confirmPeer(peer);
  });

  it('attests the real child: binary_path is the node binary and binary_hash its SHA-256', async () => {
    const unix = createUnixAttestor();
    onConnection = (s) => unix.readPeerCredentials(s);
    const { child, entry } = await connectChild();
    const peer = entry.result as PeerCredentials;
    const attrs = await unix.attest(peer.pid);
    const nodeBinary = realpathSync(process.execPath);
    expect(attrs.pid).toBe(child.pid);
    expect(attrs.uid).toBe(process.geteuid?.());
    expect(attrs.gid).toBe(process.getegid?.());
    expect(attrs.binary_path).toBe(nodeBinary);
    expect(attrs.binary_hash).toBe(createHash('sha256').update(readFileSync(nodeBinary)).digest('hex'));
    expect(attrs.binary_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('confirmPeer fails with PROCESS_GONE once the child exits (pidfd and start-time paths)', async () => {
    const withPidfd = createUnixAttestor();
    const startTimeOnly = createUnixAttestor({ pidfd: false });
    onConnection = (s) => [withPidfd.readPeerCredentials(s), startTimeOnly.readPeerCredentials(s)];
    const { child, entry, exited } = await connectChild();
    const [a, b] = entry.result as [PeerCredentials, PeerCredentials];
    expect((b.processToken as { pidfd: boolean }).pidfd).toBe(false);
    await withPidfd.confirmPeer(a);
    await startTimeOnly.confirmPeer(b);
    child.kill('SIGKILL');
    await exited;
    for (const [unix, peer] of [
      [withPidfd, a],
      [startTimeOnly, b],
    ] as const) {
      const e = await rejection(unix.confirmPeer(peer));
      expect(e.code).toBe('ERR_WID_ATTEST_UNIX_PROCESS_GONE');
      expect(e.pid).toBe(child.pid);
    }
    // attest of the vanished pid fails the same way.
    expect((await rejection(withPidfd.attest(child.pid!))).code).toBe('ERR_WID_ATTEST_UNIX_PROCESS_GONE');
  });

  it.each([
    ['with a pidfd', true],
    ['by start time', false],
  ])('readPeerCredentials throws PROCESS_GONE for a peer that exited before accept (%s)', async (_how, pidfd) => {
    const unix = createUnixAttestor({ pidfd });
    onConnection = (s) => unix.readPeerCredentials(s);
    const before = accepted.length;
    const child = spawn(
      process.execPath,
      ['-e', `require('node:net').connect(${JSON.stringify(socketPath)}, () => process.exit(0));`],
      { stdio: 'ignore' },
    );
    children.push(child);
    // Block the event loop (so nothing is accepted and the child is not reaped) until the child is a zombie whose
    // other threads are gone too: only then does its pidfd poll as exited (the leader alone exits first).
    const deadline = Date.now() + 20_000;
    let state = '';
    while (state !== 'Z\t1' && Date.now() < deadline) {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'latin1');
        state = `${/^State:\s+(\S)/m.exec(status)?.[1]}\t${/^Threads:\s+(\d+)/m.exec(status)?.[1]}`;
      } catch {
        state = '';
      }
    }
    expect(state).toBe('Z\t1');
    await new Promise<void>((resolve) => {
      const check = () => (accepted.length > before ? resolve() : waiters.push(check));
      check();
    });
    const e = accepted[before]!.error as UnixAttestorError;
    expect(e.code).toBe('ERR_WID_ATTEST_UNIX_PROCESS_GONE');
    expect(e.pid).toBe(child.pid);
    // Which guard caught it: the pidfd (kernel >= 6.5), or /proc/<pid>/stat showing a zombie (or, if Node reaped
    // the child before the accept callback ran, no longer existing).
    expect(e.message).toMatch(
      pidfd && kernelHasPeerPidfd ? /exited right after connecting|SO_PEERPIDFD failed/ : /in state Z|does not exist/,
    );
  });

  it('confirmPeer detects PID reuse (same pid, different start time) and UID/GID changes via a procRoot fixture', async () => {
    // A procRoot holding a copy of the live child's status and stat, which the test then rewrites.
    const procRoot = join(dir, 'proc-reuse');
    const unix = createUnixAttestor({ procRoot });
    let pidDir = '';
    const before = accepted.length;
    // The copy must exist before the connection is accepted, so prepare it from inside the handler.
    onConnection = (s) => {
      const pid = readPeerCredentials(s, { captureProcess: false }).pid;
      pidDir = join(procRoot, String(pid));
      mkdirSync(pidDir, { recursive: true });
      writeFileSync(join(pidDir, 'stat'), readFileSync(`/proc/${pid}/stat`));
      writeFileSync(join(pidDir, 'status'), readFileSync(`/proc/${pid}/status`));
      return unix.readPeerCredentials(s);
    };
    const { child, entry } = await connectChild();
    expect(accepted.length).toBe(before + 1);
    expect(entry.error).toBeUndefined();
    const peer = entry.result as PeerCredentials;
    await unix.confirmPeer(peer);

    const stat = readFileSync(join(pidDir, 'stat'), 'latin1');
    const status = readFileSync(join(pidDir, 'status'), 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const startTime = fields[19]!;
    const reused = [...fields];
    reused[19] = String(Number(startTime) + 1234);
    writeFileSync(join(pidDir, 'stat'), `${stat.slice(0, stat.lastIndexOf(')') + 2)}${reused.join(' ')}`);
    let e = await rejection(unix.confirmPeer(peer));
    expect(e.code).toBe('ERR_WID_ATTEST_UNIX_PROCESS_CHANGED');
    expect(e).toMatchObject({ pid: child.pid, field: 'start_time', expected: startTime, file: join(pidDir, 'stat') });
    expect(e.actual).toBe(String(Number(startTime) + 1234));

    writeFileSync(join(pidDir, 'stat'), stat);
    writeFileSync(join(pidDir, 'status'), status.replace(/^Uid:.*$/m, 'Uid:\t0\t4321\t0\t0'));
    e = await rejection(unix.confirmPeer(peer));
    expect(e).toMatchObject({ code: 'ERR_WID_ATTEST_UNIX_PROCESS_CHANGED', field: 'uid', expected: peer.uid });
    expect(e.actual).toBe(4321);

    writeFileSync(join(pidDir, 'status'), status.replace(/^Gid:.*$/m, 'Gid:\t0\t4321\t0\t0'));
    e = await rejection(unix.confirmPeer(peer));
    expect(e).toMatchObject({ code: 'ERR_WID_ATTEST_UNIX_PROCESS_CHANGED', field: 'gid', actual: 4321 });

    writeFileSync(join(pidDir, 'status'), status);
    writeFileSync(join(pidDir, 'stat'), stat.replace(/\) [A-Z] /, ') Z '));
    e = await rejection(unix.confirmPeer(peer));
    expect(e.code).toBe('ERR_WID_ATTEST_UNIX_PROCESS_GONE');

    writeFileSync(join(pidDir, 'stat'), 'garbage');
    e = await rejection(unix.confirmPeer(peer));
    expect(e).toMatchObject({ code: 'ERR_WID_ATTEST_UNIX_PROC_MALFORMED', file: join(pidDir, 'stat') });

    rmSync(pidDir, { recursive: true });
    e = await rejection(unix.confirmPeer(peer));
    expect(e).toMatchObject({ code: 'ERR_WID_ATTEST_UNIX_PROCESS_GONE', pid: child.pid });
  });

  it('captureProcess: false returns only SO_PEERCRED facts, which confirmPeer refuses', async () => {
    onConnection = (s) => readPeerCredentials(s, { captureProcess: false, procRoot: join(dir, 'unused') });
    const { child, entry } = await connectChild();
    const peer = entry.result as PeerCredentials;
    expect(peer).toEqual({ pid: child.pid, uid: process.getuid?.(), gid: process.getgid?.() });
    expect((await rejection(confirmPeer(peer))).code).toBe('ERR_WID_ATTEST_UNIX_NO_PROCESS_TOKEN');
  });

  it('standalone readPeerCredentials + confirmPeer work with the default /proc', async () => {
    onConnection = (s) => readPeerCredentials(s);
    const { child, entry } = await connectChild();
    const peer = entry.result as PeerCredentials;
    expect(peer.pid).toBe(child.pid);
    await confirmPeer(peer);
  });

  it('throws NO_SOCKET_FD for a closed socket', async () => {
    onConnection = () => undefined;
    const { entry } = await connectChild();
    entry.socket.destroy();
    expect(codeOf(() => readPeerCredentials(entry.socket)).code).toBe('ERR_WID_ATTEST_UNIX_NO_SOCKET_FD');
  });

  it('throws PEERCRED_FAILED with errno ENOTSOCK for a descriptor that is not a socket', () => {
    const fd = openSync(join(dir, 'plain-file'), 'w');
    try {
      const fake = { _handle: { fd } } as unknown as Socket;
      const e = codeOf(() => readPeerCredentials(fake));
      expect(e.code).toBe('ERR_WID_ATTEST_UNIX_PEERCRED_FAILED');
      expect(e.errno).toBe('ENOTSOCK');
    } finally {
      closeSync(fd);
    }
  });

  it('throws NO_PEER_PID for a TCP socket (the kernel has no peer process for it)', async () => {
    const tcp = createServer();
    const got = new Promise<unknown>((resolve) =>
      tcp.once('connection', (s) => {
        try {
          resolve(readPeerCredentials(s));
        } catch (e) {
          resolve(e);
        } finally {
          s.destroy();
        }
      }),
    );
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    const port = (tcp.address() as { port: number }).port;
    const client = tcpConnect(port, '127.0.0.1');
    client.on('error', () => {});
    const e = (await got) as UnixAttestorError;
    client.destroy();
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
    expect(e.code).toBe('ERR_WID_ATTEST_UNIX_NO_PEER_PID');
  });
});

describe('the native addon', () => {
  it('is built and found by default', () => {
    expect(() => assertPeerCredentialsAvailable()).not.toThrow();
  });

  it('missing: throws ADDON_MISSING naming what was tried and how to build it (never guesses)', async () => {
    const missing = join(dir, 'missing', 'peercred.node');
    let e = codeOf(() => assertPeerCredentialsAvailable({ addonPath: missing }));
    expect(e.code).toBe('ERR_WID_ATTEST_UNIX_ADDON_MISSING');
    expect(e.tried).toEqual([`${missing}: not present`]);
    expect(e.message).toContain('build:addon');
    expect(e.message).toContain('npm rebuild @wid/attestor-unix');

    const notAnAddon = join(dir, 'garbage.node');
    writeFileSync(notAnAddon, 'not an ELF file');
    const unix = createUnixAttestor({ addonPath: notAnAddon });
    onConnection = (s) => unix.readPeerCredentials(s);
    const { entry } = await connectChild();
    e = entry.error as UnixAttestorError;
    expect(e.code).toBe('ERR_WID_ATTEST_UNIX_ADDON_MISSING');
    expect(e.tried).toHaveLength(1);
    expect(e.tried?.[0]).toContain(notAnAddon);
    expect(e.tried?.[0]).not.toContain('not present');
  });

  it('loads in worker threads (context-aware) alongside the main thread', async () => {
    const [path] = defaultAddonPaths();
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const addon = require(workerData);
      // fd -1 is not a socket: the call must reach the kernel and report EBADF.
      parentPort.postMessage([addon.abi, addon.peercred(-1, new Int32Array(4), false)]);`;
    const results = await Promise.all(
      [1, 2].map(
        () =>
          new Promise<unknown>((resolve, reject) => {
            const w = new Worker(code, { eval: true, workerData: path });
            w.once('message', resolve);
            w.once('error', reject);
          }),
      ),
    );
    const { constants } = await import('node:os');
    expect(results).toEqual([
      [1, constants.errno.EBADF],
      [1, constants.errno.EBADF],
    ]);
  });
});
