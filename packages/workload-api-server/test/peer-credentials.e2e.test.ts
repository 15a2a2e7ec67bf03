/**
 * End to end over a real Unix socket with real child processes and the real unix attestor (@wid/attestor-unix,
 * SO_PEERCRED through its addon): the server must tie each call to the kernel credentials of its own connection.
 * The suite runs as root so it can start workloads under other UIDs.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createUnixAttestor } from '@wid/attestor-unix';
import { afterEach, describe, expect, it } from 'vitest';
import { createWorkloadApiServer } from '../src/index.js';
import { FakeWorkloadIdentitySource } from '../src/testing/index.js';
import { context, openDir, svid, TD, tempDir } from './helpers.js';

const CLIENT = fileURLToPath(new URL('./fixtures/workload-client.mjs', import.meta.url));

interface Workload {
  readonly child: ChildProcessByStdio<Writable, Readable, null>;
  /** The child's first line of output, parsed. */
  readonly result: Promise<{ pid: number; uid?: number; ids?: string[]; error?: { code: number; details: string } }>;
  stop(): Promise<void>;
}

function startWorkload(socketPath: string, ids?: { uid: number; gid: number }): Workload {
  const child = spawn(process.execPath, [CLIENT, socketPath], {
    stdio: ['pipe', 'pipe', 'inherit'],
    ...(ids ?? {}),
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const result = new Promise<Workload['result'] extends Promise<infer T> ? T : never>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)));
    });
    child.once('exit', (code) => reject(new Error(`workload exited (${code}) before answering: ${out}`)));
  });
  result.catch(() => {});
  return {
    child,
    result,
    stop: async () => {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(identities: FakeWorkloadIdentitySource) {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  await openDir(dir); // other UIDs must reach the socket; an existing directory keeps its mode
  const path = `${dir}/agent.sock`;
  const server = createWorkloadApiServer({ listen: `unix://${path}`, attestors: [createUnixAttestor()], identities });
  cleanups.push(() => server.close());
  await server.listen();
  return path;
}

type UnixBlock = { pid: number; uid: number; gid: number; binary_path: string; attested: boolean };
const unixOf = (attrs: Readonly<Record<string, unknown>>) => (attrs.workload as { unix: UnixBlock }).unix;

describe('createWorkloadApiServer with @wid/attestor-unix', () => {
  it('serves an X.509-SVID to a workload in another process, attested by its own PID', async () => {
    const identities = new FakeWorkloadIdentitySource({ x509Context: context([svid('web')]) });
    const path = await serve(identities);
    const workload = startWorkload(path);
    cleanups.push(() => workload.stop());
    const result = await workload.result;
    expect(result.ids).toEqual([`${TD}/web`]);
    expect(result.pid).toBe(workload.child.pid);
    expect(result.pid).not.toBe(process.pid);
    const unix = unixOf(identities.calls[0]!.attributes);
    expect(unix).toMatchObject({ attested: true, pid: workload.child.pid, uid: 0, binary_path: process.execPath });
  });

  it('gives two workloads with different UIDs, connected at once, their own attributes and identities', async () => {
    const identities = new FakeWorkloadIdentitySource({
      x509Context: context([svid('uid-65534'), svid('uid-1000'), svid('uid-0')]),
      selectSvids: (s, attrs) => s.spiffeId === `${TD}/uid-${unixOf(attrs).uid}`,
    });
    const path = await serve(identities);
    const nobody = startWorkload(path, { uid: 65534, gid: 65534 });
    const user = startWorkload(path, { uid: 1000, gid: 1000 });
    cleanups.push(
      () => nobody.stop(),
      () => user.stop(),
    );
    const [a, b] = await Promise.all([nobody.result, user.result]);
    // Both streams are open at this moment (the workloads hold them until stdin closes).
    expect(identities.watcherCount).toBe(2);
    expect(a).toEqual({ pid: nobody.child.pid, uid: 65534, ids: [`${TD}/uid-65534`] });
    expect(b).toEqual({ pid: user.child.pid, uid: 1000, ids: [`${TD}/uid-1000`] });
    const seen = identities.calls.map((c) => unixOf(c.attributes));
    expect(seen.map((u) => [u.pid, u.uid, u.gid]).sort((x, y) => x[1]! - y[1]!)).toEqual([
      [user.child.pid, 1000, 1000],
      [nobody.child.pid, 65534, 65534],
    ]);
  });

  it('answers PermissionDenied to the workload whose UID has no identity, and serves the other', async () => {
    const identities = new FakeWorkloadIdentitySource({
      x509Context: context([svid('web')]),
      allow: (attrs) => unixOf(attrs).uid !== 65534,
    });
    const path = await serve(identities);
    const denied = startWorkload(path, { uid: 65534, gid: 65534 });
    const allowed = startWorkload(path, { uid: 1000, gid: 1000 });
    cleanups.push(
      () => denied.stop(),
      () => allowed.stop(),
    );
    expect((await denied.result).error).toEqual({ code: 7, details: 'FakeWorkloadIdentitySource denies this caller' });
    expect((await allowed.result).ids).toEqual([`${TD}/web`]);
  });
});
