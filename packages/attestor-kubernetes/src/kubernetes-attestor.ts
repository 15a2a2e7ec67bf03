import { type Logger, silentLogger } from '@wid/spiffe-id';
import type { Dispatcher } from 'undici';
import { KubernetesAttestorError } from './errors.js';
import { abortedError, KubeletClient } from './internal/kubelet-client.js';

import type { ContainerStatusInfo, PodIndex, PodInfo } from './internal/pod-list.js';
import { readProc } from './internal/proc.js';
import { type ContainerLocation, locateContainer } from './locate-container.js';

/** The pino-compatible logger the attestor writes to (`(obj, msg)`). */
export type KubernetesAttestorLogger = Logger;

/** How to reach the kubelet; the keys mirror tbot's `kubelet` block (`secure_port` → `securePort`, ...). */
export interface KubeletOptions {
  /** HTTPS port of the kubelet. Default 10250. Mutually exclusive with `readOnlyPort`. */
  readonly securePort?: number;
  /**
   * Plain-HTTP, unauthenticated read-only port (usually 10255, usually disabled). When set, no token and no TLS
   * are used. Mutually exclusive with `securePort`, `tokenPath`, `caPath`, `skipVerify` and `anonymous`.
   */
  readonly readOnlyPort?: number;
  /** Service-account token sent as bearer; re-read when the file changes. Default `/var/run/secrets/kubernetes.io/serviceaccount/token`. */
  readonly tokenPath?: string;
  /** PEM of the CA that signed the kubelet serving certificate. Default `/var/run/secrets/kubernetes.io/serviceaccount/ca.crt`. */
  readonly caPath?: string;
  /** Do not verify the kubelet's certificate (kubelets often serve a self-signed one). Default `false`. Excludes `caPath`. */
  readonly skipVerify?: boolean;
  /** Send no token. Default `false`. Excludes `tokenPath`. */
  readonly anonymous?: boolean;
}

/** Options of {@link createKubernetesAttestor}. Every field is optional. */
export interface KubernetesAttestorOptions {
  /** Where procfs is mounted. Default `/proc`. */
  readonly procRoot?: string;
  /** Largest /proc/<pid>/cgroup or mountinfo accepted, in bytes; larger files are refused as malformed. Default 1 MiB. */
  readonly maxProcFileBytes?: number;
  /**
   * Opt-in: consult the cgroup mounts of /proc/<pid>/mountinfo when /proc/<pid>/cgroup names no pod or container.
   * Default `false`, because the mount table belongs to the process: any unprivileged user can `unshare -UrmC`,
   * mount cgroup2 and bind-mount a cgroup so that its mountinfo shows a cgroup root such as
   * `/kubepods/pod<uid>/<id>` and claim another pod's identity. Only the kubelet's own layouts are accepted there
   * (as in the cgroup file), which does not stop that forgery. Enable it only where no untrusted process can create
   * user namespaces (e.g. `user.max_user_namespaces=0`) and the cgroup file is known to hide the pod.
   */
  readonly mountinfoFallback?: boolean;
  /** How to reach the kubelet. */
  readonly kubelet?: KubeletOptions;
  /** Environment variable holding the node name, the kubelet host. Default `WID_NODE_NAME`; tbot uses `TELEPORT_NODE_NAME`. Unset or empty: `127.0.0.1`. */
  readonly nodeNameEnv?: string;
  /** The environment to read `nodeNameEnv` from, once, at construction. Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** undici dispatcher for the kubelet requests, used as is (then `caPath`/`skipVerify` are its business). Default: an `Agent` this attestor creates and closes. */
  readonly dispatcher?: Dispatcher;
  /** Timeout of each kubelet request (connect, headers, body), in milliseconds. Default 10000. */
  readonly requestTimeoutMs?: number;
  /** How long one `/pods` answer serves further attestations, in milliseconds. `0`: only requests in flight are shared. Default 1000. */
  readonly podListCacheMs?: number;
  /** Pod-list consultations before giving up on a pod or container that is not (yet) listed. Default 60 (like SPIRE). */
  readonly maxPollAttempts?: number;
  /** Wait between those consultations, in milliseconds. Default 500 (like SPIRE). */
  readonly pollRetryIntervalMs?: number;
  /** Where debug lines go (pino-compatible). Default: silent. */
  readonly logger?: KubernetesAttestorLogger;
}

/**
 * Attributes the kubernetes attestor returns; the server publishes them as `workload.kubernetes.*`.
 * A type alias (not an interface) so it is assignable to `Record<string, unknown>`.
 */
export type KubernetesAttributes = {
  readonly namespace: string;
  readonly pod_name: string;
  readonly pod_uid: string;
  /** `spec.serviceAccountName`; absent for pods without one (e.g. some static pods). */
  readonly service_account?: string;
  /** `metadata.labels` (empty object when none). */
  readonly labels: Readonly<Record<string, string>>;
  readonly container: {
    readonly name: string;
    /** `image` of the container status. */
    readonly image?: string;
    /** The part of `imageID` after `@` (e.g. `sha256:…`); absent when `imageID` has no digest. */
    readonly image_digest?: string;
  };
};

/** Counters of the attestor, for metrics and tests. */
export interface KubernetesAttestorStats {
  /** `/pods` requests sent to the kubelet. */
  readonly kubeletRequests: number;
}

/** The kubernetes attestor. */
export interface KubernetesAttestor {
  /** Always `kubernetes`. */
  readonly name: 'kubernetes';
  /**
   * Locates the process's container from /proc and asks the kubelet about its pod. Resolves `{}` (no attributes,
   * no error) when the process is not in a Kubernetes container. Rejects with a {@link KubernetesAttestorError}.
   */
  attest(pid: number, signal?: AbortSignal): Promise<KubernetesAttributes | Record<string, never>>;
  /** Counters. */
  stats(): KubernetesAttestorStats;
  /** Closes the HTTP agent this attestor created (never a `dispatcher` that was passed in). */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const DEFAULT_TOKEN_PATH = '/var/run/secrets/kubernetes.io/serviceaccount/token';
const DEFAULT_CA_PATH = '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt';

function badOption(key: string, value: unknown, accepted: string): KubernetesAttestorError {
  return new KubernetesAttestorError(
    'ERR_WID_ATTEST_KUBERNETES_BAD_OPTION',
    `createKubernetesAttestor: option ${key} is ${JSON.stringify(value) ?? String(value)}; expected ${accepted}`,
    { key },
  );
}

function intOption(value: unknown, key: string, min: number, max: number, def: number): number {
  if (value === undefined) return def;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw badOption(key, value, `an integer from ${min} to ${max}`);
  }
  return value;
}

function pathOption(value: unknown, key: string, def: string): string {
  if (value === undefined) return def;
  if (typeof value !== 'string' || value === '' || value.includes('\0'))
    throw badOption(key, value, 'a non-empty path');
  return value;
}

function boolOption(value: unknown, key: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw badOption(key, value, 'true or false');
  return value;
}

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

function kubeletHost(env: Readonly<Record<string, string | undefined>>, name: string): string {
  const raw = env[name];
  if (raw === undefined || raw === '') return '127.0.0.1';
  if (HOSTNAME.test(raw)) return raw;
  if (/^[0-9A-Fa-f:]+$/.test(raw) && raw.includes(':')) return `[${raw}]`;
  throw badOption(`env.${name}`, raw, 'a node name (DNS name) or IP address');
}

function sleep(ms: number, signal: AbortSignal | undefined, pid: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortedError(signal.reason, pid));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortedError(signal?.reason, pid));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

type Match =
  | { kind: 'found'; pod: PodInfo; status: ContainerStatusInfo }
  | { kind: 'pod-not-found' }
  | { kind: 'container-not-found'; pod: PodInfo }
  | { kind: 'container-not-ready'; pod: PodInfo };

function match(index: PodIndex, loc: ContainerLocation & { containerId: string }, pid: number): Match {
  const claims = index.byContainerId.get(loc.containerId) ?? [];
  if (loc.podUid !== undefined) {
    const pod = index.byUid.get(loc.podUid);
    if (pod === undefined) return { kind: 'pod-not-found' };
    const claim = claims.find((c) => c.pod === pod);
    if (claim) return { kind: 'found', pod, status: claim.status };
    return pod.notReady ? { kind: 'container-not-ready', pod } : { kind: 'container-not-found', pod };
  }
  const pods = new Set(claims.map((c) => c.pod));
  if (pods.size > 1) {
    const names = [...pods].map((p) => `${p.namespace}/${p.name}`);
    throw new KubernetesAttestorError(
      'ERR_WID_ATTEST_KUBERNETES_AMBIGUOUS_CONTAINER',
      `pid ${pid}: container ${loc.containerId} is claimed by ${pods.size} pods (${names.join(', ')}); refusing to pick one`,
      { pid, containerId: loc.containerId, pods: names },
    );
  }
  const claim = claims[0];
  return claim === undefined ? { kind: 'pod-not-found' } : { kind: 'found', pod: claim.pod, status: claim.status };
}

function attributes(pod: PodInfo, status: ContainerStatusInfo): KubernetesAttributes {
  const at = status.imageID?.lastIndexOf('@') ?? -1;
  const digest = at >= 0 ? status.imageID!.slice(at + 1) : '';
  return {
    namespace: pod.namespace,
    pod_name: pod.name,
    pod_uid: pod.uid,
    ...(pod.serviceAccount === undefined ? {} : { service_account: pod.serviceAccount }),
    labels: { ...pod.labels },
    container: {
      name: status.name,
      ...(status.image === undefined ? {} : { image: status.image }),
      ...(digest === '' ? {} : { image_digest: digest }),
    },
  };
}

/**
 * Creates the kubernetes attestor. `attest(pid)` reads /proc/<pid>/cgroup (and, only with `mountinfoFallback` and
 * only if that names nothing, the cgroup mounts in /proc/<pid>/mountinfo) to find the pod UID and container ID,
 * then matches them against the kubelet's `/pods` list: `{ namespace, pod_name, pod_uid, service_account, labels,
 * container: { name, image, image_digest } }`. Not in a container: `{}`. One `/pods` request serves every attestation in flight and is
 * cached for `podListCacheMs`; a container without an ID yet is retried every `pollRetryIntervalMs` up to
 * `maxPollAttempts` times. No I/O at construction (the node name is read from `env` once).
 *
 * @example
 * import { createKubernetesAttestor } from '@wid/attestor-kubernetes';
 *
 * const k8s = createKubernetesAttestor({ nodeNameEnv: 'TELEPORT_NODE_NAME', kubelet: { skipVerify: true } });
 * await k8s.attest(pid); // { namespace: 'default', pod_name: 'web-0', ..., container: { name: 'web', ... } }
 * await k8s.close();
 */
export function createKubernetesAttestor(options: KubernetesAttestorOptions = {}): KubernetesAttestor {
  if (typeof options !== 'object' || options === null) throw badOption('options', options, 'an object');
  const procRoot = pathOption(options.procRoot, 'procRoot', '/proc');
  const maxBytes = intOption(options.maxProcFileBytes, 'maxProcFileBytes', 1, 2 ** 30, 1024 * 1024);
  if (options.mountinfoFallback !== undefined && typeof options.mountinfoFallback !== 'boolean') {
    throw badOption('mountinfoFallback', options.mountinfoFallback, 'true or false');
  }
  const mountinfoFallback = options.mountinfoFallback ?? false;
  const kubelet = options.kubelet ?? {};
  if (typeof kubelet !== 'object' || kubelet === null) throw badOption('kubelet', kubelet, 'an object');
  const readOnlyPort =
    kubelet.readOnlyPort === undefined
      ? undefined
      : intOption(kubelet.readOnlyPort, 'kubelet.readOnlyPort', 1, 65535, 10255);
  const skipVerify = boolOption(kubelet.skipVerify, 'kubelet.skipVerify');
  const anonymous = boolOption(kubelet.anonymous, 'kubelet.anonymous');
  if (readOnlyPort !== undefined) {
    for (const k of ['securePort', 'tokenPath', 'caPath', 'skipVerify', 'anonymous'] as const) {
      if (kubelet[k] !== undefined) {
        throw badOption(
          `kubelet.${k}`,
          kubelet[k],
          `to be unset with kubelet.readOnlyPort (the read-only port is plain HTTP without a token)`,
        );
      }
    }
  }
  if (skipVerify && kubelet.caPath !== undefined) {
    throw badOption('kubelet.caPath', kubelet.caPath, 'to be unset with kubelet.skipVerify (they contradict)');
  }
  if (anonymous && kubelet.tokenPath !== undefined) {
    throw badOption('kubelet.tokenPath', kubelet.tokenPath, 'to be unset with kubelet.anonymous (they contradict)');
  }
  const securePort = intOption(kubelet.securePort, 'kubelet.securePort', 1, 65535, 10250);
  const tokenPath = pathOption(kubelet.tokenPath, 'kubelet.tokenPath', DEFAULT_TOKEN_PATH);
  const caPath = pathOption(kubelet.caPath, 'kubelet.caPath', DEFAULT_CA_PATH);
  const nodeNameEnv = options.nodeNameEnv ?? 'WID_NODE_NAME';
  if (typeof nodeNameEnv !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(nodeNameEnv)) {
    throw badOption('nodeNameEnv', nodeNameEnv, 'an environment variable name');
  }
  const env = options.env ?? process.env;
  if (typeof env !== 'object' || env === null) throw badOption('env', env, 'an object of strings');
  const host = kubeletHost(env, nodeNameEnv);
  const dispatcher = options.dispatcher;
  if (dispatcher !== undefined && typeof (dispatcher as { dispatch?: unknown }).dispatch !== 'function') {
    throw badOption('dispatcher', '[object]', 'an undici Dispatcher');
  }
  const requestTimeoutMs = intOption(options.requestTimeoutMs, 'requestTimeoutMs', 1, 600_000, 10_000);
  const podListCacheMs = intOption(options.podListCacheMs, 'podListCacheMs', 0, 3_600_000, 1000);
  const maxPollAttempts = intOption(options.maxPollAttempts, 'maxPollAttempts', 1, 10_000, 60);
  const pollRetryIntervalMs = intOption(options.pollRetryIntervalMs, 'pollRetryIntervalMs', 0, 600_000, 500);
  const logger = options.logger ?? silentLogger;
  for (const m of ['debug', 'info', 'warn', 'error'] as const) {
    if (typeof logger?.[m] !== 'function') {
      throw badOption('logger', `{ ${m}: ${typeof logger?.[m]} }`, 'a pino-like logger');
    }
  }

  const secure = readOnlyPort === undefined;
  const client = new KubeletClient({
    url: secure ? `https://${host}:${securePort}/pods` : `http://${host}:${readOnlyPort}/pods`,
    secure,
    tokenPath: secure && !anonymous ? tokenPath : undefined,
    caPath: secure && !skipVerify ? caPath : undefined,
    skipVerify,
    dispatcher,
    requestTimeoutMs,
    podListCacheMs,
  });

  async function locate(pid: number, signal: AbortSignal | undefined): Promise<ContainerLocation> {
    const cg = await readProc(procRoot, pid, 'cgroup', maxBytes, signal);
    const fromCgroup = locateContainer({ cgroup: cg.text }, { pid, cgroupFile: cg.file });
    if (!mountinfoFallback || fromCgroup.podUid !== undefined || fromCgroup.containerId !== undefined) {
      return fromCgroup;
    }
    const mi = await readProc(procRoot, pid, 'mountinfo', maxBytes, signal);
    const fromMounts = locateContainer(
      { cgroup: cg.text, mountinfo: mi.text },
      { pid, cgroupFile: cg.file, mountinfoFile: mi.file },
    );
    if (fromMounts.podUid !== undefined || fromMounts.containerId !== undefined) {
      logger.debug({ pid, ...fromMounts }, 'container located from mountinfo (the cgroup file named none)');
    }
    return fromMounts;
  }

  async function attest(pid: number, signal?: AbortSignal): Promise<KubernetesAttributes | Record<string, never>> {
    if (!Number.isSafeInteger(pid) || pid <= 0) {
      throw new KubernetesAttestorError(
        'ERR_WID_ATTEST_KUBERNETES_BAD_PID',
        `cannot attest pid ${String(pid)}: not a positive integer`,
      );
    }
    const loc = await locate(pid, signal);
    if (loc.podUid === undefined && loc.containerId === undefined) return {};
    const { podUid, containerId } = loc;
    if (containerId === undefined) {
      throw new KubernetesAttestorError(
        'ERR_WID_ATTEST_KUBERNETES_NO_CONTAINER_ID',
        `pid ${pid} is in pod ${podUid}'s cgroup but not in a container's`,
        { pid, podUid },
      );
    }
    let minStartedAt = Number.NEGATIVE_INFINITY;
    let last: Match = { kind: 'pod-not-found' };
    for (let attempt = 1; attempt <= maxPollAttempts; attempt++) {
      const { index } = await client.pods(minStartedAt, signal, pid);
      last = match(index, { podUid, containerId }, pid);
      if (last.kind === 'found') return attributes(last.pod, last.status);
      if (attempt === maxPollAttempts) {
        const fields = { pid, podUid, containerId, attempts: attempt };
        if (last.kind === 'container-not-ready') {
          throw new KubernetesAttestorError(
            'ERR_WID_ATTEST_KUBERNETES_CONTAINER_NOT_READY',
            `pid ${pid}: pod found (${last.pod.namespace}/${last.pod.name}), container not ready: no container status ` +
              `has ID ${containerId} after ${attempt} attempts`,
            fields,
          );
        }
        if (last.kind === 'container-not-found') {
          throw new KubernetesAttestorError(
            'ERR_WID_ATTEST_KUBERNETES_CONTAINER_NOT_FOUND',
            `pid ${pid}: pod found (${last.pod.namespace}/${last.pod.name}) but none of its containers has ID ` +
              `${containerId} (after ${attempt} attempts)`,
            fields,
          );
        }
        throw new KubernetesAttestorError(
          'ERR_WID_ATTEST_KUBERNETES_POD_NOT_FOUND',
          `pid ${pid}: the kubelet lists no pod ${podUid === undefined ? `running container ${containerId}` : `with UID ${podUid}`} (after ${attempt} attempts)`,
          fields,
        );
      }
      logger.debug(
        { pid, podUid, containerId, attempt, reason: last.kind },
        'pod or container not listed yet; retrying',
      );
      await sleep(pollRetryIntervalMs, signal, pid);
      minStartedAt = performance.now();
    }
    /* c8 ignore next */
    throw new Error('unreachable');
  }

  const close = () => client.close();
  return Object.freeze({
    name: 'kubernetes' as const,
    attest,
    stats: () => ({ kubeletRequests: client.requests }),
    close,
    [Symbol.asyncDispose]: close,
  });
}
