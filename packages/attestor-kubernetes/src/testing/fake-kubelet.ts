import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { FAKE_KUBELET_CA_PEM, FAKE_KUBELET_SERVER_CERT_PEM, FAKE_KUBELET_SERVER_KEY_PEM } from './certificates.js';

/** One container of a {@link fakePod}. */
export interface FakeContainer {
  readonly name: string;
  /** Default `registry.example/<name>:1.0`. */
  readonly image?: string;
  /** Default `registry.example/<name>@sha256:<64 hex derived from the name>`. `''`: not pulled yet. */
  readonly imageID?: string;
  /** With runtime prefix, e.g. `containerd://<64 hex>`. Omitted: the container has no ID yet (still starting). */
  readonly containerID?: string;
  /** `init` or `ephemeral` put the status in initContainerStatuses / ephemeralContainerStatuses. */
  readonly kind?: 'regular' | 'init' | 'ephemeral';
}

/** What {@link fakePod} needs to build a realistic v1 Pod. */
export interface FakePodSpec {
  readonly name: string;
  readonly uid: string;
  /** Default `default`. */
  readonly namespace?: string;
  /** Default `default`; `null`: no serviceAccountName at all. */
  readonly serviceAccount?: string | null;
  readonly labels?: Readonly<Record<string, string>>;
  /** Default `node-1`. */
  readonly nodeName?: string;
  readonly containers: readonly FakeContainer[];
}

function digestFor(name: string): string {
  let h = 0x811c9dc5;
  for (const ch of name) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0').repeat(8);
}

/**
 * Builds a v1 Pod object as the kubelet's `/pods` lists it (metadata, spec, status with container statuses).
 *
 * @example
 * fakePod({ name: 'web-0', uid: '7c4f3a1e-5b2d-4e8f-9a0c-1d2e3f4a5b6c', labels: { app: 'web' },
 *           containers: [{ name: 'web', containerID: `containerd://${'a'.repeat(64)}` }] });
 */
export function fakePod(spec: FakePodSpec): Record<string, unknown> {
  const namespace = spec.namespace ?? 'default';
  const status = (c: FakeContainer) => {
    const image = c.image ?? `registry.example/${c.name}:1.0`;
    const imageID = c.imageID ?? `registry.example/${c.name}@sha256:${digestFor(c.name)}`;
    const started = c.containerID !== undefined;
    return {
      name: c.name,
      state: started
        ? { running: { startedAt: '2026-01-01T00:00:00Z' } }
        : { waiting: { reason: 'ContainerCreating' } },
      lastState: {},
      ready: started,
      restartCount: 0,
      image,
      imageID: started ? imageID : '',
      ...(started ? { containerID: c.containerID, started: true } : { started: false }),
    };
  };
  const of = (kind: FakeContainer['kind']) => spec.containers.filter((c) => (c.kind ?? 'regular') === kind);
  const specOf = (c: FakeContainer) => ({
    name: c.name,
    image: c.image ?? `registry.example/${c.name}:1.0`,
    resources: {},
    terminationMessagePath: '/dev/termination-log',
    imagePullPolicy: 'IfNotPresent',
  });
  return {
    metadata: {
      name: spec.name,
      namespace,
      uid: spec.uid,
      resourceVersion: '4242',
      creationTimestamp: '2026-01-01T00:00:00Z',
      ...(spec.labels === undefined ? {} : { labels: { ...spec.labels } }),
      annotations: {
        'kubernetes.io/config.seen': '2026-01-01T00:00:00.000000000Z',
        'kubernetes.io/config.source': 'api',
      },
    },
    spec: {
      ...(of('init').length > 0 ? { initContainers: of('init').map(specOf) } : {}),
      containers: of('regular').map(specOf),
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
      ...(spec.serviceAccount === null
        ? {}
        : { serviceAccountName: spec.serviceAccount ?? 'default', serviceAccount: spec.serviceAccount ?? 'default' }),
      nodeName: spec.nodeName ?? 'node-1',
      securityContext: {},
      schedulerName: 'default-scheduler',
    },
    status: {
      phase: of('regular').every((c) => c.containerID !== undefined) ? 'Running' : 'Pending',
      hostIP: '10.0.0.11',
      podIP: '10.244.1.7',
      qosClass: 'BestEffort',
      ...(of('init').length > 0 ? { initContainerStatuses: of('init').map(status) } : {}),
      containerStatuses: of('regular').map(status),
      ...(of('ephemeral').length > 0 ? { ephemeralContainerStatuses: of('ephemeral').map(status) } : {}),
    },
  };
}

/** Options of {@link FakeKubelet.start}. */
export interface FakeKubeletOptions {
  /** Bearer token required on `/pods`. `null`: no token required (anonymous). Default `fake-kubelet-token`. */
  readonly token?: string | null;
  /** Serve HTTPS with the static test certificates (default) or plain HTTP (a read-only port). Default `true`. */
  readonly tls?: boolean;
  /** Initial pods (v1 Pod objects, e.g. from {@link fakePod}). Default none. */
  readonly pods?: readonly Record<string, unknown>[];
  /** Address to listen on. Default `127.0.0.1`. */
  readonly host?: string;
}

/** A fixed answer that replaces the PodList (to simulate failing kubelets). */
export interface FakeKubeletResponse {
  readonly status: number;
  readonly body: string;
  readonly contentType?: string;
}

/**
 * A kubelet double: a real HTTPS server on loopback (certificate issued by {@link FakeKubelet.caPem}, valid for
 * localhost, 127.0.0.1 and ::1) answering `GET /pods` with real PodList JSON and checking the bearer token. It can
 * be slow (`delayMs`), fail (`respondWith`), and change its pods between requests (`setPods`, `onRequest`) to play
 * a container that is not ready yet.
 *
 * @example
 * import { FakeKubelet, fakePod } from '@wid/attestor-kubernetes/testing';
 * const kubelet = await FakeKubelet.start({ pods: [fakePod({ name: 'web-0', uid, containers: [...] })] });
 * // point an attestor at kubelet.port, trusting kubelet.caPem, with token kubelet.token
 * await kubelet.close();
 */
export class FakeKubelet {
  /** PEM of the CA that issued the server certificate (a client's `kubelet.caPath` content). */
  readonly caPem: string = FAKE_KUBELET_CA_PEM;
  /** The port it listens on. */
  readonly port: number;
  /** `https://127.0.0.1:<port>` (or `http://` without TLS). */
  readonly url: string;
  /** Bearer token required on `/pods`; `undefined`: none required. May be changed at any time. */
  token: string | undefined;
  /** Milliseconds to wait before answering each request. */
  delayMs = 0;
  /** When set, every `/pods` request gets this answer instead of the PodList. */
  respondWith: FakeKubeletResponse | undefined;
  /** Called with the 1-based request number before each `/pods` answer is built (e.g. to call setPods). */
  onRequest: ((n: number) => void) | undefined;
  /** `/pods` requests received so far. */
  requests = 0;
  /** The Authorization header of the last request (undefined when absent). */
  lastAuthorization: string | undefined;

  #server: Server;
  #body = '';

  private constructor(server: Server, port: number, tls: boolean, host: string, token: string | undefined) {
    this.#server = server;
    this.port = port;
    this.url = `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
    this.token = token;
  }

  /** Starts a FakeKubelet on an ephemeral port. */
  static async start(options: FakeKubeletOptions = {}): Promise<FakeKubelet> {
    const tls = options.tls ?? true;
    const host = options.host ?? '127.0.0.1';
    let self: FakeKubelet | undefined;
    const handler = (req: IncomingMessage, res: ServerResponse) => self!.handle(req, res);
    const server = tls
      ? createHttpsServer({ key: FAKE_KUBELET_SERVER_KEY_PEM, cert: FAKE_KUBELET_SERVER_CERT_PEM }, handler)
      : createHttpServer(handler);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const token = options.token === null ? undefined : (options.token ?? 'fake-kubelet-token');
    self = new FakeKubelet(server, port, tls, host, token);
    self.setPods(options.pods ?? []);
    return self;
  }

  /** Replaces the pods listed by `/pods`. */
  setPods(pods: readonly Record<string, unknown>[]): void {
    this.#body = JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: {}, items: pods });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const answer = (status: number, body: string, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/pods') {
      answer(404, '404 page not found\n', 'text/plain; charset=utf-8');
      return;
    }
    this.requests++;
    const n = this.requests;
    this.lastAuthorization = req.headers.authorization;
    const respond = () => {
      if (this.token !== undefined && req.headers.authorization !== `Bearer ${this.token}`) {
        answer(401, 'Unauthorized', 'text/plain; charset=utf-8');
        return;
      }
      this.onRequest?.(n);
      const fixed = this.respondWith;
      if (fixed) answer(fixed.status, fixed.body, fixed.contentType);
      else answer(200, this.#body);
    };
    if (this.delayMs > 0) setTimeout(respond, this.delayMs);
    else respond();
  }

  /** Stops the server and drops open connections. */
  async close(): Promise<void> {
    const server = this.#server;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
