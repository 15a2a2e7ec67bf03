import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { loadWorkloadApiDefinition, SECURITY_HEADER_KEY } from '@wid/workload-api-proto';

/**
 * A bare grpc-js server speaking the real Workload API wire format on a real Unix socket, whose handlers each test
 * writes itself — to send exactly the (possibly malformed) responses a client must cope with. Records the security
 * header of every call. Methods without a handler answer Unimplemented (grpc-js default).
 */
export interface RawServer {
  readonly address: string;
  readonly socketPath: string;
  /** The `workload.spiffe.io` header values of every call, in order. */
  readonly headers: (string | undefined)[];
  /** Number of calls per method name. */
  readonly calls: Map<string, number>;
  /** Starts (or restarts on the same path) with `handlers`. */
  start(handlers: Handlers): Promise<void>;
  /** Stops at once, cutting every open stream. */
  stop(): Promise<void>;
  /** Stops and removes the temporary directory. */
  dispose(): Promise<void>;
}

type StreamHandler = (call: ServerWritableStream<unknown, unknown>) => void;
type UnaryHandler = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => void;
export interface Handlers {
  FetchX509SVID?: StreamHandler;
  FetchX509Bundles?: StreamHandler;
  FetchJWTSVID?: UnaryHandler;
  FetchJWTBundles?: StreamHandler;
  ValidateJWTSVID?: UnaryHandler;
}

/** The service definition, but FetchX509SVID / FetchJWTBundles responses may also be raw Buffers (sent as-is). */
function rawCapableService() {
  const { service } = loadWorkloadApiDefinition();
  const passthrough =
    <T>(serialize: (v: T) => Buffer) =>
    (v: T) =>
      Buffer.isBuffer(v) ? v : serialize(v);
  return {
    ...service,
    FetchX509SVID: {
      ...service.FetchX509SVID,
      responseSerialize: passthrough(service.FetchX509SVID.responseSerialize),
    },
    FetchJWTBundles: {
      ...service.FetchJWTBundles,
      responseSerialize: passthrough(service.FetchJWTBundles.responseSerialize),
    },
  };
}

export function createRawServer(): RawServer {
  const dir = mkdtempSync(join(tmpdir(), 'wid-client-test-'));
  const socketPath = join(dir, 'agent.sock');
  const headers: (string | undefined)[] = [];
  const calls = new Map<string, number>();
  let server: Server | undefined;
  return {
    address: `unix://${socketPath}`,
    socketPath,
    headers,
    calls,
    async start(handlers) {
      const s = new Server();
      const impl: UntypedServiceImplementation = {};
      for (const [name, handler] of Object.entries(handlers)) {
        impl[name] = (call: { metadata: { get(k: string): unknown[] } }, ...rest: unknown[]) => {
          const v = call.metadata.get(SECURITY_HEADER_KEY)[0];
          headers.push(typeof v === 'string' ? v : undefined);
          calls.set(name, (calls.get(name) ?? 0) + 1);
          (handler as (...a: unknown[]) => void)(call, ...rest);
        };
      }
      s.addService(rawCapableService(), impl);
      await new Promise<void>((resolve, reject) =>
        s.bindAsync(`unix://${socketPath}`, ServerCredentials.createInsecure(), (err) =>
          err ? reject(err) : resolve(),
        ),
      );
      server = s;
    },
    async stop() {
      const s = server;
      server = undefined;
      s?.forceShutdown();
      rmSync(socketPath, { force: true });
    },
    async dispose() {
      await this.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Fake timers for the client's backoff: records each requested delay and lets the test fire it. */
export function createManualTimers() {
  const pending: { ms: number; fire: () => void; handle: object }[] = [];
  const delays: number[] = [];
  let waiters: (() => void)[] = [];
  return {
    delays,
    pending,
    timers: {
      setTimeout(callback: () => void, ms: number): unknown {
        const handle = {};
        delays.push(ms);
        pending.push({ ms, fire: callback, handle });
        for (const w of waiters.splice(0)) w();
        return handle;
      },
      clearTimeout(handle: unknown) {
        const i = pending.findIndex((p) => p.handle === handle);
        if (i >= 0) pending.splice(i, 1);
      },
    },
    /** Resolves once at least `n` delays have been requested in total. */
    async waitForDelays(n: number): Promise<void> {
      while (delays.length < n) await new Promise<void>((r) => waiters.push(r));
    },
    /** Fires the oldest pending timer. */
    fireNext(): void {
      const p = pending.shift();
      if (!p) throw new Error('no pending timer');
      p.fire();
    },
    reset() {
      waiters = [];
    },
  };
}
