import { mkdtempSync, rmSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClientReadableStream, credentials, type ServiceError, status } from '@grpc/grpc-js';
import { createWorkloadApiMetadata, loadWorkloadApiDefinition, type WorkloadApiClient } from '@wid/workload-api-proto';
import type {
  Logger,
  PeerCredentials,
  PeerCredentialsAttestor,
  WorkloadAttestor,
  WorkloadX509Svid,
  X509Context,
} from '../src/index.js';

export const TD = 'spiffe://example.org';

export function svid(name: string, hint?: string, rev = 1): WorkloadX509Svid {
  return {
    spiffeId: `${TD}/${name}`,
    certChain: [Buffer.from(`leaf-${name}-${rev}`), Buffer.from(`intermediate-${rev}`)],
    privateKey: Buffer.from(`key-${name}-${rev}`),
    bundle: [Buffer.from('ca-1'), Buffer.from('ca-2')],
    ...(hint === undefined ? {} : { hint }),
  };
}

export function context(svids: WorkloadX509Svid[], federated: Record<string, string> = {}): X509Context {
  return {
    svids,
    federatedBundles: new Map(Object.entries(federated).map(([td, ca]) => [td, [Buffer.from(ca)]])),
  };
}

/** A temp dir other UIDs can traverse (the server leaves an existing directory's mode alone). */
export function tempDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'wid-wapi-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function openDir(dir: string): Promise<void> {
  await chmod(dir, 0o755);
}

/**
 * A test-only PeerCredentialsAttestor for in-process clients: it cannot read SO_PEERCRED, so every connection gets
 * the next fake PID (1001, 1002, ...), which is enough to prove the connection→call mapping.
 */
export class FakePeerAttestor implements PeerCredentialsAttestor {
  readonly name = 'unix';
  nextPid = 1000;
  readonly peers: PeerCredentials[] = [];
  attestImpl: (pid: number, signal?: AbortSignal) => Promise<Record<string, unknown>> = async (pid) => ({
    pid,
    uid: pid + 10_000,
  });
  confirmImpl: (peer: PeerCredentials) => Promise<void> = async () => {};
  readImpl: ((socket: Socket) => PeerCredentials) | undefined;
  attestCount = 0;

  readPeerCredentials(socket: Socket): PeerCredentials {
    if (this.readImpl) return this.readImpl(socket);
    const pid = ++this.nextPid;
    // Consistent with attestImpl's default: the kernel's uid is what /proc reports.
    const peer = { pid, uid: pid + 10_000, gid: 0 };
    this.peers.push(peer);
    return peer;
  }

  attest(pid: number, signal?: AbortSignal): Promise<Record<string, unknown>> {
    this.attestCount++;
    return this.attestImpl(pid, signal);
  }

  confirmPeer(peer: PeerCredentials): Promise<void> {
    return this.confirmImpl(peer);
  }
}

export function attestor(name: string, attest: WorkloadAttestor['attest']): WorkloadAttestor {
  return { name, attest };
}

export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: Record<string, unknown>;
  msg: string | undefined;
}

export function memoryLogger(): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at =
    (level: LogEntry['level']) =>
    (obj: Record<string, unknown>, msg?: string): void => {
      entries.push({ level, obj, msg });
    };
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export function connect(target: string): WorkloadApiClient {
  const { Client } = loadWorkloadApiDefinition();
  // A local subchannel pool: each client gets its own connection (grpc-js otherwise shares one per target).
  return new Client(target, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
}

export function unaryCall<Res>(
  invoke: (callback: (error: ServiceError | null, response?: Res) => void) => void,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    invoke((error, response) => (error ? reject(error) : resolve(response as Res)));
  });
}

/** Resolves with the status error (or OK) a call ends with. */
export function unaryStatus<Res>(
  invoke: (callback: (error: ServiceError | null, response?: Res) => void) => void,
): Promise<{ code: status; details: string }> {
  return new Promise((resolve) => {
    invoke((error) => resolve(error ? { code: error.code, details: error.details } : { code: status.OK, details: '' }));
  });
}

/** Collects a server stream: `next()` waits for the next message, `ended` settles with the final status. */
export class StreamReader<T> {
  readonly messages: T[] = [];
  readonly ended: Promise<{ code: status; details: string }>;
  readonly #waiters: Array<() => void> = [];
  #read = 0;

  constructor(readonly stream: ClientReadableStream<T>) {
    stream.on('data', (m: T) => {
      this.messages.push(m);
      for (const w of this.#waiters.splice(0)) w();
    });
    this.ended = new Promise((resolve) => {
      let settled = false;
      const done = (s: { code: status; details: string }) => {
        if (settled) return;
        settled = true;
        for (const w of this.#waiters.splice(0)) w();
        resolve(s);
      };
      stream.on('error', (e: ServiceError) => done({ code: e.code, details: e.details }));
      stream.on('status', (s: { code: status; details: string }) => {
        if (s.code === status.OK) done({ code: s.code, details: s.details });
      });
    });
    this.ended.catch(() => {});
  }

  /** The next unread message; rejects if the stream ends first. */
  async next(): Promise<T> {
    for (;;) {
      const m = this.messages[this.#read];
      if (m !== undefined) {
        this.#read++;
        return m;
      }
      const ended = await Promise.race([
        new Promise<false>((resolve) => this.#waiters.push(() => resolve(false))),
        this.ended.then(() => true),
      ]);
      if (ended && this.messages[this.#read] === undefined) {
        throw new Error(`stream ended: ${JSON.stringify(await this.ended)}`);
      }
    }
  }
}

export const md = createWorkloadApiMetadata;
