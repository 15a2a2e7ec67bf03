import { chmod, lstat } from 'node:fs/promises';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { type ConnectionInjector, Server as GrpcServer, ServerCredentials, status } from '@grpc/grpc-js';
import { type Logger, silentLogger } from '@wid/spiffe-id';
import {
  type EndpointAddress,
  loadWorkloadApiDefinition,
  parseEndpointAddress,
  type SpiffeWorkloadApiServiceDefinition,
} from '@wid/workload-api-proto';
import {
  isPeerCredentialsAttestor,
  type PeerCredentialsAttestor,
  type WorkloadAttestor,
  type WorkloadAttributes,
} from './attestor.js';
import { WorkloadApiServerError } from './errors.js';
import type { WorkloadIdentitySource } from './identity-source.js';
import { raceAbort } from './internal/abortable.js';
import { type AttestationPlan, attestConnection, type ConnectionInfo } from './internal/attest.js';
import { ResponseEncoder } from './internal/encode.js';
import { createServiceImplementation, type OpenStream, type RequestLimits } from './internal/service.js';
import { prepareSocketPath, removeOwnSocket, wrapListen } from './internal/socket.js';
import { StatusError } from './internal/status.js';

/** Options of {@link createWorkloadApiServer}. Validated at construction; a bad one throws naming its key. */
export interface WorkloadApiServerOptions {
  /**
   * Where to listen: `unix:///abs/path` (or `unix:/abs/path`), or `tcp://<IP>:<port>`. On TCP no peer credentials
   * exist: callers are not attested (every call gets empty attributes) and a warning is logged at start.
   */
  readonly listen: string;
  /**
   * Attestors run for every call. With a unix `listen`, exactly one of them must read peer credentials
   * ({@link PeerCredentialsAttestor}, e.g. `createUnixAttestor()` of @wid/attestor-unix); its failure fails the call.
   * The others fail soft. Names must be unique. Default `[]` (valid only with `tcp://`).
   */
  readonly attestors?: readonly WorkloadAttestor[];
  /** Where identities come from (the agent's cache, an issuer, or a test double). */
  readonly identities: WorkloadIdentitySource;
  /** pino-compatible logger. Default: silent. */
  readonly logger?: Logger;
  /**
   * Mode of the socket file. Default `0o777`, like SPIRE and tbot: access is governed by the directory's mode.
   */
  readonly socketMode?: number;
  /** Mode of the socket's parent directory when the server creates it (an existing one is left alone). Default `0o700`. */
  readonly directoryMode?: number;
  /** Upper bound on attesting one call, in milliseconds; past it the call fails Unavailable. Default `5000`. */
  readonly attestTimeoutMs?: number;
  /** How long `close()` lets in-flight unary calls finish before cutting connections, in milliseconds. Default `5000`. */
  readonly closeGraceMs?: number;
  /**
   * Most audiences one FetchJWTSVID request may name; more is answered `InvalidArgument`. Default `32`. (Each distinct
   * audience list is a JWT-SVID the source signs, caches and audits.)
   */
  readonly maxJwtAudiences?: number;
  /** Longest audience value (FetchJWTSVID and ValidateJWTSVID), in UTF-8 bytes; longer is `InvalidArgument`. Default `1024`. */
  readonly maxAudienceBytes?: number;
  /** Longest `spiffe_id` a FetchJWTSVID request may carry, in UTF-8 bytes; longer is `InvalidArgument`. Default `2048`. */
  readonly maxSpiffeIdBytes?: number;
  /** Longest token ValidateJWTSVID accepts, in UTF-8 bytes; longer is `InvalidArgument`. Default `16384`. */
  readonly maxJwtSvidBytes?: number;
  /**
   * Largest request message grpc-js accepts (`grpc.max_receive_message_length`), in bytes; a larger one is refused
   * with `ResourceExhausted` before it is decoded. Default `65536` (gRPC's own default is 4 MiB).
   */
  readonly maxReceiveMessageBytes?: number;
}

/**
 * A SPIFFE Workload API server. Created stopped; `listen()` starts it.
 *
 * @example
 * await using server = createWorkloadApiServer({ listen: 'unix:///run/wid/agent.sock', attestors: [unix], identities });
 * await server.listen();
 */
export interface WorkloadApiServer {
  /** The parsed `listen` address. */
  readonly address: EndpointAddress;
  /** Starts accepting connections; resolves once accepting. Calling it again returns the same promise. */
  listen(): Promise<void>;
  /** Alias of {@link WorkloadApiServer.listen}. */
  start(): Promise<void>;
  /**
   * Stops accepting, ends open streams (status OK once they delivered a message, else Unavailable), lets in-flight
   * unary calls finish (up to `closeGraceMs`), closes connections and removes the socket file. Idempotent.
   */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const SILENT: Logger = silentLogger;

interface Config {
  readonly address: EndpointAddress;
  readonly plan: Omit<AttestationPlan, 'logger'> | undefined;
  readonly identities: WorkloadIdentitySource;
  readonly logger: Logger;
  readonly socketMode: number;
  readonly directoryMode: number;
  readonly closeGraceMs: number;
  readonly ignoredAttestors: readonly string[];
  readonly limits: RequestLimits;
  readonly maxReceiveMessageBytes: number;
}

function invalid(key: string, message: string, cause?: unknown): never {
  throw new WorkloadApiServerError('ERR_WID_WORKLOAD_API_INVALID_OPTION', `invalid option "${key}": ${message}`, {
    key,
    cause,
  });
}

function checkMode(options: WorkloadApiServerOptions, key: 'socketMode' | 'directoryMode', def: number): number {
  const value = options[key];
  if (value === undefined) return def;
  if (!Number.isInteger(value) || value < 0 || value > 0o777) {
    invalid(key, `expected a permission mode between 0o000 and 0o777, got ${String(value)}`);
  }
  return value;
}

function checkMs(
  options: WorkloadApiServerOptions,
  key: 'attestTimeoutMs' | 'closeGraceMs',
  def: number,
  min: number,
): number {
  const value = options[key];
  if (value === undefined) return def;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > 2_147_483_647) {
    invalid(key, `expected an integer number of milliseconds >= ${min}, got ${String(value)}`);
  }
  return value;
}

type SizeKey =
  | 'maxJwtAudiences'
  | 'maxAudienceBytes'
  | 'maxSpiffeIdBytes'
  | 'maxJwtSvidBytes'
  | 'maxReceiveMessageBytes';

function checkSize(options: WorkloadApiServerOptions, key: SizeKey, def: number, min: number): number {
  const value = options[key];
  if (value === undefined) return def;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > 2_147_483_647) {
    invalid(key, `expected an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

const SOURCE_METHODS = [
  'watchX509Context',
  'fetchJwtSvids',
  'watchX509Bundles',
  'watchJwtBundles',
  'validateJwtSvid',
] as const;

function validate(options: WorkloadApiServerOptions): Config {
  if (typeof options !== 'object' || options === null) invalid('options', 'expected an options object');
  if (typeof options.listen !== 'string') invalid('listen', 'expected a string such as unix:///run/wid/agent.sock');
  let address: EndpointAddress;
  try {
    address = parseEndpointAddress(options.listen);
  } catch (error) {
    return invalid('listen', error instanceof Error ? error.message : String(error), error);
  }
  const identities = options.identities;
  if (typeof identities !== 'object' || identities === null) {
    invalid('identities', 'expected a WorkloadIdentitySource object');
  }
  for (const method of SOURCE_METHODS) {
    if (typeof identities[method] !== 'function') invalid('identities', `the source has no ${method}() method`);
  }
  const logger = options.logger ?? SILENT;
  for (const level of ['debug', 'info', 'warn', 'error'] as const) {
    if (typeof logger[level] !== 'function') invalid('logger', `expected a pino-compatible logger with ${level}()`);
  }
  const attestors = options.attestors ?? [];
  if (!Array.isArray(attestors)) invalid('attestors', 'expected an array of attestors');
  const names = new Set<string>();
  for (const [i, attestor] of attestors.entries()) {
    if (typeof attestor !== 'object' || attestor === null || typeof attestor.attest !== 'function') {
      invalid('attestors', `attestors[${i}] has no attest() method`);
    }
    if (typeof attestor.name !== 'string' || !/^[a-z][a-z0-9_]*$/.test(attestor.name)) {
      invalid('attestors', `attestors[${i}] has name ${JSON.stringify(attestor.name)}; expected lowercase [a-z0-9_]`);
    }
    if (names.has(attestor.name)) invalid('attestors', `two attestors are named "${attestor.name}"`);
    names.add(attestor.name);
  }
  const attestTimeoutMs = checkMs(options, 'attestTimeoutMs', 5000, 1);
  let plan: Config['plan'];
  if (address.kind === 'unix') {
    const peerAttestors = attestors.filter(isPeerCredentialsAttestor);
    if (peerAttestors.length !== 1) {
      invalid(
        'attestors',
        `a unix socket needs exactly one attestor that reads peer credentials (readPeerCredentials + confirmPeer, ` +
          `e.g. createUnixAttestor() of @wid/attestor-unix); found ${peerAttestors.length}`,
      );
    }
    const unix = peerAttestors[0] as PeerCredentialsAttestor;
    plan = { unix, others: attestors.filter((a) => a !== unix), timeoutMs: attestTimeoutMs };
  }
  return {
    address,
    plan,
    identities,
    logger,
    socketMode: checkMode(options, 'socketMode', 0o777),
    directoryMode: checkMode(options, 'directoryMode', 0o700),
    closeGraceMs: checkMs(options, 'closeGraceMs', 5000, 0),
    ignoredAttestors: address.kind === 'tcp' ? attestors.map((a) => a.name) : [],
    limits: {
      maxJwtAudiences: checkSize(options, 'maxJwtAudiences', 32, 1),
      maxAudienceBytes: checkSize(options, 'maxAudienceBytes', 1024, 1),
      maxSpiffeIdBytes: checkSize(options, 'maxSpiffeIdBytes', 2048, 1),
      maxJwtSvidBytes: checkSize(options, 'maxJwtSvidBytes', 16_384, 1),
    },
    // Below ~1 KiB not even a legitimate request fits.
    maxReceiveMessageBytes: checkSize(options, 'maxReceiveMessageBytes', 65_536, 1024),
  };
}

/** Resolves once `socket` has closed. */
function ended(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.closed) resolve();
    else socket.once('close', () => resolve());
  });
}

/** Passes pre-serialized responses (shared by many streams) straight through. */
function withPassThrough(service: SpiffeWorkloadApiServiceDefinition): SpiffeWorkloadApiServiceDefinition {
  const out: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(service)) {
    const serialize = def.responseSerialize;
    out[name] = { ...def, responseSerialize: (value: unknown) => (Buffer.isBuffer(value) ? value : serialize(value)) };
  }
  return out as SpiffeWorkloadApiServiceDefinition;
}

/**
 * Creates a SPIFFE Workload API server (Workload Endpoint + Workload API standards): gRPC over a Unix socket the
 * server accepts itself, so every call is tied to the kernel peer credentials of its connection; attestation per
 * call; all seven RPCs (WIT-SVID ones answer Unimplemented); the `workload.spiffe.io: true` header enforced.
 *
 * @throws {@link WorkloadApiServerError} `ERR_WID_WORKLOAD_API_INVALID_OPTION` naming the bad option.
 * @example
 * import { createUnixAttestor } from '@wid/attestor-unix';
 * const server = createWorkloadApiServer({
 *   listen: 'unix:///run/wid/agent.sock',
 *   attestors: [createUnixAttestor()],
 *   identities: agentCache,
 *   logger: pino(),
 * });
 * await server.listen();
 * process.once('SIGTERM', () => server.close());
 */
export function createWorkloadApiServer(options: WorkloadApiServerOptions): WorkloadApiServer {
  const config = validate(options);
  const { address, logger } = config;
  const plan: AttestationPlan | undefined = config.plan && { ...config.plan, logger };

  let state: 'new' | 'listening' | 'closed' = 'new';
  let closing = false;
  let listenPromise: Promise<void> | undefined;
  let closePromise: Promise<void> | undefined;
  let netServer: NetServer | undefined;
  let grpcServer: GrpcServer | undefined;
  let injector: ConnectionInjector | undefined;
  let socketIdentity: { ino: number; dev: number } | undefined;
  let connectionSeq = 0;
  const connections = new Map<string, ConnectionInfo>();
  const sockets = new Set<Socket>();
  const streams = new Set<OpenStream>();
  const unaryCalls = new Set<Promise<void>>();

  const onConnection = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    // http2 handles socket errors of live sessions; this keeps a reset during accept from being "unhandled".
    socket.on('error', (error) => logger.debug({ err: error }, 'Workload API connection error'));
    if (closing || injector === undefined) {
      socket.destroy();
      return;
    }
    if (plan !== undefined) {
      // Read the credentials now, synchronously, before any byte is read (PLATFORM.md): they belong to the
      // connection, and every call on it is attested from them.
      let info: ConnectionInfo;
      try {
        info = { peer: plan.unix.readPeerCredentials(socket), peerError: undefined };
      } catch (error) {
        logger.error({ err: error }, 'cannot read the peer credentials of a Workload API connection');
        info = { peer: undefined, peerError: error };
      }
      // Handlers only see `call.getPeer()`, which grpc-js builds from the socket's remoteAddress (a Unix socket has
      // none and no port): give each connection a unique one and map it to the credentials.
      const id = `wid-connection-${++connectionSeq}`;
      Object.defineProperty(socket, 'remoteAddress', { value: id, configurable: true });
      Object.defineProperty(socket, 'remotePort', { value: undefined, configurable: true });
      connections.set(id, info);
      socket.once('close', () => connections.delete(id));
      logger.debug({ connection: id, pid: info.peer?.pid, uid: info.peer?.uid }, 'Workload API connection accepted');
    }
    injector.injectConnection(socket);
  };

  const implementation = createServiceImplementation({
    identities: config.identities,
    limits: config.limits,
    logger,
    encoder: new ResponseEncoder(loadWorkloadApiDefinition().service),
    resolveCaller: (call) => (plan === undefined ? undefined : connections.get(call.getPeer())),
    attest: async (conn, signal): Promise<WorkloadAttributes> => {
      if (plan === undefined) return {};
      if (conn === undefined) {
        return attestConnection({ peer: undefined, peerError: new Error('connection not registered') }, plan, signal);
      }
      // Calls arriving on one connection while its attestation runs (a client opening several streams at once)
      // share that attestation; its result is dropped when it settles, so each later call attests afresh.
      let shared = conn.inflight;
      if (shared === undefined) {
        const started = attestConnection(conn, plan);
        shared = started;
        conn.inflight = started;
        started
          .finally(() => {
            if (conn.inflight === started) conn.inflight = undefined;
          })
          .catch(() => {});
      }
      return raceAbort(shared, signal, () => new StatusError(status.CANCELLED, 'call cancelled'));
    },
    isClosing: () => closing,
    trackStream: (stream) => {
      streams.add(stream);
      return () => streams.delete(stream);
    },
    trackUnary: (done) => {
      unaryCalls.add(done);
      done.finally(() => unaryCalls.delete(done)).catch(() => {});
    },
  });

  const listen = (): Promise<void> => {
    if (state === 'closed' || closing) {
      return Promise.reject(
        new WorkloadApiServerError(
          'ERR_WID_WORKLOAD_API_CLOSED',
          'the Workload API server was closed; create a new one',
        ),
      );
    }
    listenPromise ??= (async () => {
      // Applies to connections handed over through the injector too (grpc-js reads it per call from the server).
      const server = new GrpcServer({ 'grpc.max_receive_message_length': config.maxReceiveMessageBytes });
      server.addService(withPassThrough(loadWorkloadApiDefinition().service), implementation);
      grpcServer = server;
      injector = server.createConnectionInjector(ServerCredentials.createInsecure());
      const net = createServer(onConnection);
      net.on('error', (error) => logger.error({ err: error }, 'Workload API listener error'));
      netServer = net;
      const where = address.kind === 'unix' ? address.path : `${address.host}:${address.port}`;
      if (address.kind === 'unix') await prepareSocketPath(address.path, config.directoryMode, logger);
      await new Promise<void>((resolve, reject) => {
        const onError = (error: Error) => reject(wrapListen(error, where));
        net.once('error', onError);
        const ready = () => {
          net.off('error', onError);
          resolve();
        };
        if (address.kind === 'unix') net.listen({ path: address.path }, ready);
        else net.listen({ host: address.host, port: address.port }, ready);
      });
      if (address.kind === 'unix') {
        try {
          await chmod(address.path, config.socketMode);
          const st = await lstat(address.path);
          socketIdentity = { ino: st.ino, dev: st.dev };
        } catch (error) {
          net.close();
          throw wrapListen(error, where);
        }
      } else {
        logger.warn(
          { address: options.listen, ignoredAttestors: config.ignoredAttestors },
          'Workload API listening on TCP: callers have no peer credentials and are not attested; ' +
            'only use this where the source address authenticates the caller',
        );
      }
      state = 'listening';
      logger.info({ address: options.listen }, 'Workload API server listening');
    })();
    return listenPromise;
  };

  const close = (): Promise<void> => {
    closePromise ??= (async () => {
      closing = true;
      if (listenPromise !== undefined) await listenPromise.catch(() => {});
      const net = netServer;
      const netClosed = new Promise<void>((resolve) => {
        if (net?.listening) net.close(() => resolve());
        else resolve();
      });
      for (const stream of [...streams]) stream.shutdown();
      const grace = config.closeGraceMs;
      const timer = (ms: number) =>
        new Promise<void>((resolve) => {
          setTimeout(resolve, ms).unref();
        });
      if (unaryCalls.size > 0) await Promise.race([Promise.allSettled([...unaryCalls]), timer(grace)]);
      const server = grpcServer;
      if (server !== undefined) {
        // A gracefully closed http2 session ends its socket itself once every stream has sent its trailers and the
        // peer has hung up after the GOAWAY: wait for that too. tryShutdown()'s callback alone is not enough: on Node 24
        // (not 20) Http2Server.close(), which grpc-js calls first, already closes every session, so grpc-js finds them
        // `closed` and reports done at once; destroying the sockets then would cut off the streams' final status.
        const connectionsEnded = Promise.all([...sockets].map(ended));
        await new Promise<void>((resolve) => {
          let pending = 2;
          const settle = () => {
            if (--pending > 0) return;
            clearTimeout(force);
            resolve();
          };
          const force = setTimeout(() => {
            server.forceShutdown();
            resolve();
          }, grace);
          force.unref();
          server.tryShutdown(settle);
          connectionsEnded.then(settle, settle);
        });
      }
      for (const socket of sockets) socket.destroy();
      await netClosed;
      if (address.kind === 'unix' && socketIdentity !== undefined) {
        await removeOwnSocket(address.path, socketIdentity.ino, socketIdentity.dev);
      }
      state = 'closed';
      logger.info({ address: options.listen }, 'Workload API server closed');
    })();
    return closePromise;
  };

  return Object.freeze({
    address,
    listen,
    start: listen,
    close,
    [Symbol.asyncDispose]: close,
  });
}
