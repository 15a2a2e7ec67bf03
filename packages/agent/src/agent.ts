import { assertPeerCredentialsAvailable } from '@wid/attestor-unix';
import {
  createDirectoryStorage,
  createIssuanceService,
  createMemoryStorage,
  createWorkloadIdentityCache,
  type IdentitySelector,
  type LocalIssuanceService,
  type ManagedCertificateAuthority,
  openCertificateAuthority,
  type WorkloadIdentityCache,
} from '@wid/server';
import { createWorkloadApiServer, type WorkloadApiServer, type WorkloadAttestor } from '@wid/workload-api-server';
import { type BuildAttestorsOptions, buildAttestors, closeAttestors } from './attestors.js';
import type { AgentConfig, ServiceConfig, StorageConfig } from './config.js';
import { AgentError } from './errors.js';
import type { AgentLogger } from './logger.js';

/** Options of {@link createAgent}. */
export interface AgentOptions {
  /** pino-compatible logger. Default: silent. */
  readonly logger?: AgentLogger;
  /** Time source for the CA, the issuance service and the cache. Default: the system clock. */
  readonly clock?: { now(): Date };
  /** Where procfs is mounted (attestors). Default `/proc`. */
  readonly procRoot?: string;
  /** Environment the kubernetes attestor reads `WID_NODE_NAME` from. Default: empty (kubelet at 127.0.0.1). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Builds the kubernetes attestor (see {@link BuildAttestorsOptions.createKubernetesAttestor}). */
  readonly createKubernetesAttestor?: BuildAttestorsOptions['createKubernetesAttestor'];
}

/** A running (or stopped) wid-agent. */
export interface Agent {
  /** The configuration in force. */
  readonly config: AgentConfig;
  /** Opens the CA in storage and starts every Workload API socket. On failure, closes what it opened and throws. */
  start(): Promise<void>;
  /**
   * Applies a new, already validated configuration: new and changed sockets are opened first, then the new rules
   * are put in force and removed or replaced sockets closed. If a socket cannot be opened, what the reload opened is
   * closed and the running configuration is left as it was, and the promise rejects. `trust_domain` and `storage`
   * need a restart: a config changing them is rejected and the old one keeps running.
   */
  reload(config: AgentConfig): Promise<void>;
  /**
   * Addresses of the Workload API sockets currently accepting connections. A failed `reload()` leaves it as it was
   * (only if a socket it had to close cannot be reopened does that socket drop out).
   */
  readonly listening: readonly string[];
  /** Closes every socket (ending streams), the caches and the CA (writing its state). Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const SILENT: AgentLogger = { debug() {}, info() {}, warn() {}, error() {} };

interface RunningService {
  readonly config: ServiceConfig;
  readonly server: WorkloadApiServer;
  readonly cache: WorkloadIdentityCache;
  readonly attestors: readonly WorkloadAttestor[];
}

function selectorOf(s: ServiceConfig): IdentitySelector {
  return s.selector.names !== undefined ? { names: s.selector.names } : { labels: s.selector.labelSelectors ?? {} };
}

function sameStorage(a: StorageConfig, b: StorageConfig): boolean {
  return a.type === b.type && (a.type !== 'directory' || (b.type === 'directory' && a.path === b.path));
}

/** Settings of a socket that require restarting it when they change (rules are swapped without a restart). */
function serviceFingerprint(s: ServiceConfig): string {
  return JSON.stringify([s.type, s.listen, s.selector, s.attestors, s.credentialTtlSeconds, s.renewalIntervalSeconds]);
}

class AgentImpl implements Agent {
  config: AgentConfig;
  private readonly logger: AgentLogger;
  private managed: ManagedCertificateAuthority | undefined;
  private issuance: LocalIssuanceService | undefined;
  private services: RunningService[] = [];
  private state: 'new' | 'starting' | 'running' | 'closed' = 'new';
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    config: AgentConfig,
    private readonly options: AgentOptions,
  ) {
    this.config = config;
    this.logger = options.logger ?? SILENT;
  }

  /** Builds every service's attestors first: a bad attestor setting fails before anything is opened. */
  private async prepare(config: AgentConfig): Promise<Map<number, WorkloadAttestor[]>> {
    if (config.services.some((s) => s.listen.startsWith('unix:'))) {
      try {
        assertPeerCredentialsAvailable();
      } catch (cause) {
        throw new AgentError(
          'ERR_WID_AGENT_ATTESTOR_UNAVAILABLE',
          `the unix attestor cannot read peer credentials here: ${(cause as Error).message}`,
          { key: 'attestors.unix', cause },
        );
      }
    }
    const out = new Map<number, WorkloadAttestor[]>();
    for (const s of config.services) {
      try {
        out.set(
          s.index,
          buildAttestors(s.attestors, {
            logger: this.logger,
            ...(this.options.procRoot === undefined ? {} : { procRoot: this.options.procRoot }),
            ...(this.options.env === undefined ? {} : { env: this.options.env }),
            ...(this.options.createKubernetesAttestor === undefined
              ? {}
              : { createKubernetesAttestor: this.options.createKubernetesAttestor }),
          }),
        );
      } catch (error) {
        await closeAttestors([...out.values()].flat()); // the ones built for the services before this one
        if (error instanceof AgentError && error.key !== undefined) {
          throw new AgentError(error.code, `services[${s.index}].${error.key}: ${error.message}`, {
            key: `services[${s.index}].${error.key}`,
            line: error.line,
            source: config.source,
            cause: error.cause ?? error,
          });
        }
        throw error;
      }
    }
    return out;
  }

  private async startService(
    s: ServiceConfig,
    attestors: readonly WorkloadAttestor[],
    source: string | undefined,
  ): Promise<RunningService> {
    const issuance = this.issuance!;
    const cache = createWorkloadIdentityCache({
      issuance,
      selector: selectorOf(s),
      ttlSeconds: s.credentialTtlSeconds,
      renewAfterSeconds: s.renewalIntervalSeconds,
      logger: this.logger,
      ...(this.options.clock === undefined ? {} : { clock: this.options.clock }),
    });
    let server: WorkloadApiServer;
    try {
      server = await this.listenOn(s, attestors, cache);
    } catch (cause) {
      cache.close();
      await closeAttestors(attestors);
      throw new AgentError(
        'ERR_WID_AGENT_START_FAILED',
        `services[${s.index}]: cannot listen on ${s.listen}: ${(cause as Error).message}`,
        { key: `services[${s.index}].listen`, source, cause },
      );
    }
    this.logger.info(
      {
        service: s.index,
        type: s.type,
        listen: s.listen,
        selector: s.selector,
        attestors: attestors.map((a) => a.name),
        credential_ttl_seconds: s.credentialTtlSeconds,
        renewal_interval_seconds: s.renewalIntervalSeconds,
      },
      'workload API listening',
    );
    return { config: s, server, cache, attestors };
  }

  /**
   * Creates a server for `s` and listens. A failed `listen()` leaves nothing open (the server releases what it had
   * bound); the cache and attestors stay the caller's.
   */
  private async listenOn(
    s: ServiceConfig,
    attestors: readonly WorkloadAttestor[],
    cache: WorkloadIdentityCache,
  ): Promise<WorkloadApiServer> {
    const server = createWorkloadApiServer({ listen: s.listen, attestors, identities: cache, logger: this.logger });
    await server.listen();
    return server;
  }

  private async stopService(r: RunningService): Promise<void> {
    try {
      await r.server.close();
    } finally {
      r.cache.close();
      await closeAttestors(r.attestors);
    }
    this.logger.info({ service: r.config.index, listen: r.config.listen }, 'workload API closed');
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  start(): Promise<void> {
    return this.serialize(async () => {
      if (this.state !== 'new') throw new AgentError('ERR_WID_AGENT_START_FAILED', `the agent is ${this.state}`);
      this.state = 'starting';
      const config = this.config;
      let attestors = new Map<number, WorkloadAttestor[]>();
      try {
        attestors = await this.prepare(config);
        const storage =
          config.storage.type === 'directory'
            ? createDirectoryStorage({ path: config.storage.path, logger: this.logger })
            : createMemoryStorage();
        try {
          this.managed = await openCertificateAuthority({
            storage,
            trustDomain: config.trustDomain,
            logger: this.logger,
            ...(this.options.clock === undefined ? {} : { clock: this.options.clock }),
          });
        } catch (cause) {
          throw new AgentError(
            'ERR_WID_AGENT_START_FAILED',
            `cannot open the CA in ${config.storage.type === 'directory' ? config.storage.path : 'memory'}: ${(cause as Error).message}`,
            { key: 'storage', source: config.source, cause },
          );
        }
        this.logger.info(
          {
            trust_domain: config.trustDomain.name,
            storage: config.storage,
            created: this.managed.created,
          },
          this.managed.created ? 'created a new CA' : 'loaded the CA from storage',
        );
        this.issuance = createIssuanceService({
          ca: this.managed.ca,
          identities: config.identities,
          logger: this.logger,
          ...(this.options.clock === undefined ? {} : { clock: this.options.clock }),
        });
        for (const s of config.services) {
          const list = attestors.get(s.index)!;
          attestors.delete(s.index); // handed over: startService closes them on failure, stopService later
          this.services.push(await this.startService(s, list, config.source));
        }
        this.state = 'running';
        this.logger.info(
          {
            trust_domain: config.trustDomain.name,
            services: config.services.length,
            identities: config.identities.names(),
          },
          'agent started',
        );
      } catch (error) {
        await closeAttestors([...attestors.values()].flat());
        await this.shutdown();
        this.state = 'closed';
        throw error;
      }
    });
  }

  reload(next: AgentConfig): Promise<void> {
    return this.serialize(async () => {
      if (this.state !== 'running')
        throw new AgentError('ERR_WID_AGENT_START_FAILED', `cannot reload: the agent is ${this.state}`);
      const old = this.config;
      if (!next.trustDomain.equals(old.trustDomain)) {
        throw new AgentError(
          'ERR_WID_AGENT_CONFIG_CONFLICT',
          `trust_domain changed from ${old.trustDomain.name} to ${next.trustDomain.name}: restart the agent to change it`,
          { key: 'trust_domain', source: next.source },
        );
      }
      if (!sameStorage(old.storage, next.storage)) {
        throw new AgentError('ERR_WID_AGENT_CONFIG_CONFLICT', 'storage changed: restart the agent to change it', {
          key: 'storage',
          source: next.source,
        });
      }
      // Nothing running is touched until every new or changed socket listens: a failure anywhere below closes
      // what this reload opened and reopens what it closed, so the running configuration keeps serving as it was.
      const attestors = await this.prepare(next);
      const take = (index: number): WorkloadAttestor[] => {
        const list = attestors.get(index) ?? [];
        attestors.delete(index); // handed over: startService closes them on failure, stopService later
        return list;
      };
      const byFingerprint = new Map(this.services.map((r) => [serviceFingerprint(r.config), r]));
      const keep: { readonly running: RunningService; readonly config: ServiceConfig }[] = [];
      const changed: ServiceConfig[] = [];
      for (const s of next.services) {
        const running = byFingerprint.get(serviceFingerprint(s));
        if (running !== undefined) {
          byFingerprint.delete(serviceFingerprint(s));
          keep.push({ running, config: s });
        } else changed.push(s);
      }
      // Kept sockets keep their attestors: close the ones built for them while validating.
      await closeAttestors(keep.flatMap((k) => take(k.config.index)));
      const removed = [...byFingerprint.values()];
      const removedByListen = new Map(removed.map((r) => [r.config.listen, r]));
      // A changed socket on a new address listens before anything is closed; one on the address of a socket being
      // replaced can only listen once that socket is closed, so those go last and are reopened if anything fails.
      const fresh = changed.filter((s) => !removedByListen.has(s.listen));
      const inPlace = changed.filter((s) => removedByListen.has(s.listen));
      const started: RunningService[] = [];
      const closedServers: RunningService[] = [];
      try {
        for (const s of fresh) started.push(await this.startService(s, take(s.index), next.source));
        for (const s of inPlace) {
          const old = removedByListen.get(s.listen)!;
          closedServers.push(old);
          await old.server.close();
          started.push(await this.startService(s, take(s.index), next.source));
        }
      } catch (error) {
        await closeAttestors([...attestors.values()].flat());
        await this.rollBack(started, closedServers);
        throw error;
      }
      // Every socket listens: put the new rules in force, then close what the new configuration dropped or replaced.
      this.issuance!.setIdentities(next.identities);
      this.config = next;
      const replaced = new Set(closedServers);
      this.services = [...keep.map((k) => ({ ...k.running, config: k.config })), ...started];
      for (const r of removed) {
        try {
          if (replaced.has(r)) {
            r.cache.close();
            await closeAttestors(r.attestors);
            this.logger.info({ service: r.config.index, listen: r.config.listen }, 'workload API closed');
          } else await this.stopService(r);
        } catch (error) {
          this.logger.error({ err: error, listen: r.config.listen }, 'error while closing a socket');
        }
      }
      this.logger.info(
        { services: next.services.length, restarted: changed.length, identities: next.identities.names() },
        'configuration reloaded',
      );
    });
  }

  /** Undoes a failed reload: closes the sockets it opened and reopens the running ones it had closed. */
  private async rollBack(started: readonly RunningService[], closedServers: readonly RunningService[]): Promise<void> {
    for (const r of [...started].reverse()) {
      try {
        await this.stopService(r);
      } catch (error) {
        this.logger.error({ err: error, listen: r.config.listen }, 'error while closing a socket');
      }
    }
    for (const old of closedServers) {
      const at = this.services.indexOf(old);
      if (at === -1) continue;
      try {
        const server = await this.listenOn(old.config, old.attestors, old.cache);
        this.services[at] = { ...old, server };
        this.logger.info({ service: old.config.index, listen: old.config.listen }, 'workload API reopened');
      } catch (error) {
        this.services.splice(at, 1);
        old.cache.close();
        await closeAttestors(old.attestors);
        this.logger.error(
          { err: error, service: old.config.index, listen: old.config.listen },
          'cannot reopen a Workload API socket closed by the failed reload; it stays closed',
        );
      }
    }
  }

  /** Addresses of the Workload API sockets currently accepting connections. */
  get listening(): readonly string[] {
    return this.services.map((r) => r.config.listen);
  }

  private async shutdown(): Promise<void> {
    const services = this.services;
    this.services = [];
    const results = await Promise.allSettled(services.map((r) => this.stopService(r)));
    for (const r of results) {
      if (r.status === 'rejected') this.logger.error({ err: r.reason }, 'error while closing a socket');
    }
    this.issuance?.close();
    this.issuance = undefined;
    if (this.managed !== undefined) {
      const managed = this.managed;
      this.managed = undefined;
      try {
        await managed.close();
      } catch (error) {
        this.logger.error({ err: error }, 'error while writing the CA state');
      }
    }
  }

  close(): Promise<void> {
    return this.serialize(async () => {
      if (this.state === 'closed') return;
      this.state = 'closed';
      await this.shutdown();
      this.logger.info({}, 'agent stopped');
    });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Creates the agent for a validated configuration (standalone: a local CA in `storage`, the issuance service
 * in-process, one SVID cache and one Workload API server per service). Nothing happens until `start()`.
 *
 * @example
 * const agent = createAgent(loadAgentConfig('agent.yaml'), { logger });
 * await agent.start();
 * process.once('SIGTERM', () => agent.close());
 */
export function createAgent(config: AgentConfig, options: AgentOptions = {}): Agent {
  return new AgentImpl(config, options);
}
