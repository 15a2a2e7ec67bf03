import { X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { Agent, type Dispatcher, request } from 'undici';
import { KubernetesAttestorError } from '../errors.js';
import { type PodIndex, parsePodList } from './pod-list.js';

export interface KubeletClientConfig {
  /** `https://host:port/pods` or `http://host:port/pods`. */
  readonly url: string;
  readonly secure: boolean;
  /** Undefined: send no token (anonymous or read-only port). */
  readonly tokenPath: string | undefined;
  /** Undefined with secure: skip verification. */
  readonly caPath: string | undefined;
  readonly skipVerify: boolean;
  readonly dispatcher: Dispatcher | undefined;
  readonly requestTimeoutMs: number;
  readonly podListCacheMs: number;
}

export interface PodListSnapshot {
  readonly index: PodIndex;
  /** performance.now() when the request that produced it started. */
  readonly startedAt: number;
}

function errnoOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Re-reads the bearer token whenever the file changes (projected tokens rotate by swapping a symlink). */
class TokenFile {
  private cached: { key: string; token: string } | undefined;
  constructor(private readonly path: string) {}

  async get(): Promise<string> {
    try {
      const st = await stat(this.path);
      const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
      if (this.cached?.key === key) return this.cached.token;
      const token = (await readFile(this.path, 'utf8')).trim();
      if (token === '' || !/^[!-~]+$/.test(token)) {
        throw new KubernetesAttestorError(
          'ERR_WID_ATTEST_KUBERNETES_TOKEN_UNREADABLE',
          `service-account token file ${this.path} is ${token === '' ? 'empty' : 'not a single token'}`,
          { file: this.path },
        );
      }
      this.cached = { key, token };
      return token;
    } catch (e) {
      if (e instanceof KubernetesAttestorError) throw e;
      throw new KubernetesAttestorError(
        'ERR_WID_ATTEST_KUBERNETES_TOKEN_UNREADABLE',
        `cannot read the service-account token ${this.path}: ${errnoOf(e) ?? String(e)}`,
        { file: this.path, errno: errnoOf(e) },
        { cause: e },
      );
    }
  }
}

export function abortedError(reason: unknown, pid?: number): KubernetesAttestorError {
  return new KubernetesAttestorError(
    'ERR_WID_ATTEST_KUBERNETES_ABORTED',
    `kubernetes attestation${pid === undefined ? '' : ` of pid ${pid}`} was aborted`,
    { pid },
    { cause: reason },
  );
}

/** Waits for `promise` unless `signal` aborts first (the shared request itself is not cancelled). */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined, pid?: number): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(abortedError(signal.reason, pid));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortedError(signal.reason, pid));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

const TIMED_OUT = Symbol('timed out');

/**
 * The kubelet `/pods` client: one request in flight serves every caller (singleflight) and its answer is kept for
 * `podListCacheMs`, so a burst of attestations on one node costs one request.
 */
export class KubeletClient {
  private readonly token: TokenFile | undefined;
  private agent: Agent | undefined;
  private cached: (PodListSnapshot & { expiresAt: number }) | undefined;
  private inflight: { promise: Promise<PodListSnapshot>; startedAt: number } | undefined;
  private closed = false;
  requests = 0;

  constructor(private readonly config: KubeletClientConfig) {
    this.token = config.tokenPath === undefined ? undefined : new TokenFile(config.tokenPath);
  }

  /** A pod list fetched by a request that started at or after `minStartedAt` (performance.now() time). */
  pods(minStartedAt: number, signal: AbortSignal | undefined, pid: number): Promise<PodListSnapshot> {
    const now = performance.now();
    const c = this.cached;
    if (c !== undefined && c.startedAt >= minStartedAt && now < c.expiresAt) return Promise.resolve(c);
    let f = this.inflight;
    if (f === undefined || f.startedAt < minStartedAt) {
      const startedAt = now;
      const promise = this.fetch().then((index) => {
        const snapshot = { index, startedAt };
        if (this.cached === undefined || this.cached.startedAt <= startedAt) {
          this.cached = { ...snapshot, expiresAt: performance.now() + this.config.podListCacheMs };
        }
        return snapshot;
      });
      f = { promise, startedAt };
      this.inflight = f;
      const clear = () => {
        if (this.inflight === f) this.inflight = undefined;
      };
      promise.then(clear, clear);
    }
    return raceAbort(f.promise, signal, pid);
  }

  private async dispatcher(): Promise<Dispatcher> {
    if (this.config.dispatcher !== undefined) return this.config.dispatcher;
    if (this.agent !== undefined) return this.agent;
    if (this.closed) {
      throw new KubernetesAttestorError(
        'ERR_WID_ATTEST_KUBERNETES_KUBELET_UNREACHABLE',
        `cannot reach kubelet ${this.config.url}: the attestor was closed`,
        { url: this.config.url },
      );
    }
    const timeout = this.config.requestTimeoutMs;
    if (!this.config.secure) {
      this.agent = new Agent({ connect: { timeout } });
    } else if (this.config.skipVerify || this.config.caPath === undefined) {
      this.agent = new Agent({ connect: { timeout, rejectUnauthorized: false } });
    } else {
      const caPath = this.config.caPath;
      let ca: string;
      try {
        ca = await readFile(caPath, 'utf8');
        new X509Certificate(ca); // fail here, naming the file, rather than in every TLS handshake
      } catch (e) {
        throw new KubernetesAttestorError(
          'ERR_WID_ATTEST_KUBERNETES_CA_UNREADABLE',
          `cannot use ${caPath} as the kubelet CA: ${errnoOf(e) ?? (e as Error).message}`,
          { file: caPath, errno: errnoOf(e) },
          { cause: e },
        );
      }
      // Another caller may have created it while we read the file.
      this.agent ??= new Agent({ connect: { timeout, ca } });
    }
    return this.agent;
  }

  private async fetch(): Promise<PodIndex> {
    const { url, requestTimeoutMs } = this.config;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token !== undefined) headers['authorization'] = `Bearer ${await this.token.get()}`;
    const dispatcher = await this.dispatcher();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(TIMED_OUT), requestTimeoutMs);
    this.requests++;
    try {
      const res = await request(url, {
        method: 'GET',
        headers,
        dispatcher,
        signal: controller.signal,
        headersTimeout: requestTimeoutMs,
        bodyTimeout: requestTimeoutMs,
      });
      const body = await res.body.text();
      if (res.statusCode !== 200) {
        throw new KubernetesAttestorError(
          'ERR_WID_ATTEST_KUBERNETES_KUBELET_HTTP_STATUS',
          `kubelet ${url} answered HTTP ${res.statusCode}${res.statusCode === 401 || res.statusCode === 403 ? ' (check the token and RBAC on nodes/proxy)' : ''}`,
          { url, status: res.statusCode, body },
        );
      }
      return parsePodList(body, url);
    } catch (e) {
      if (e instanceof KubernetesAttestorError) throw e;
      const code = errnoOf(e);
      if (controller.signal.aborted || (code?.startsWith('UND_ERR_') && code.includes('TIMEOUT'))) {
        throw new KubernetesAttestorError(
          'ERR_WID_ATTEST_KUBERNETES_KUBELET_TIMEOUT',
          `kubelet ${url} did not answer within ${requestTimeoutMs} ms`,
          { url, errno: code },
          { cause: e },
        );
      }
      const detail = code ?? (e as Error)?.message ?? String(e);
      throw new KubernetesAttestorError(
        'ERR_WID_ATTEST_KUBERNETES_KUBELET_UNREACHABLE',
        `cannot reach kubelet ${url}: ${detail}${(e as { cause?: { code?: string } })?.cause?.code ? ` (${(e as { cause: { code: string } }).cause.code})` : ''}`,
        { url, errno: code },
        { cause: e },
      );
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const agent = this.agent;
    this.agent = undefined;
    await agent?.close();
  }
}
