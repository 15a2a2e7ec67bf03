import { isAbsolute, resolve } from 'node:path';
import {
  type DecideRequest,
  loadWorkloadIdentities,
  type NamedText,
  parseDuration,
  translateLegacySvids,
  type WorkloadIdentityResource,
  type WorkloadIdentitySet,
} from '@wid/rule-engine';
import { isWidError, TrustDomain } from '@wid/spiffe-id';
import { AgentError } from './errors.js';
import { formatKey, type PathSeg, where, YamlSource } from './internal/yaml-source.js';

/** Where the agent keeps its state (the local CA in standalone mode). */
export type StorageConfig =
  | { readonly type: 'memory' }
  | {
      readonly type: 'directory';
      /** Absolute path (a relative one in the file is resolved against the config file's directory). */
      readonly path: string;
    };

/** The unix attestor (always on: the Workload API needs peer credentials). tbot's keys. */
export interface UnixAttestorConfig {
  /** `binary_hash_max_size_bytes`: largest executable hashed for `binary_hash`; default 1 GiB. */
  readonly binaryHashMaxSizeBytes: number | undefined;
}

/** tbot's `attestors.kubernetes` block. */
export interface KubernetesAttestorConfig {
  readonly enabled: boolean;
  readonly kubelet: {
    readonly securePort: number | undefined;
    readonly readOnlyPort: number | undefined;
    readonly tokenPath: string | undefined;
    readonly caPath: string | undefined;
    readonly skipVerify: boolean;
    readonly anonymous: boolean;
  };
}

/** tbot's `attestors.systemd` block. */
export interface SystemdAttestorConfig {
  readonly enabled: boolean;
}

/** The attestors of one service. */
export interface AttestorsConfig {
  readonly unix: UnixAttestorConfig;
  readonly kubernetes: KubernetesAttestorConfig;
  readonly systemd: SystemdAttestorConfig;
}

/** One Workload API socket. */
export interface ServiceConfig {
  /** Position in `services` (used in log lines and legacy resource names). */
  readonly index: number;
  readonly type: 'workload-identity-api' | 'spiffe-workload-api';
  /** The address as written. */
  readonly listenAsWritten: string;
  /** Absolute Workload API address (`unix:///abs/path` or `tcp://ip:port`). */
  readonly listen: string;
  /** Which workload identities the socket serves (names or label selectors, never empty). */
  readonly selector: Pick<DecideRequest, 'names' | 'labelSelectors'>;
  readonly attestors: AttestorsConfig;
  /** Requested SVID lifetime, seconds (service override or the global `credential_ttl`). */
  readonly credentialTtlSeconds: number;
  /** tbot's `renewal_interval`, seconds: an upper bound on how long an SVID is served before it is renewed. */
  readonly renewalIntervalSeconds: number;
}

/** A validated agent configuration: everything checked, nothing opened. */
export interface AgentConfig {
  /** The file it was read from, when it was. */
  readonly source: string | undefined;
  /** Directory relative paths were resolved against. */
  readonly baseDir: string;
  /** Only `standalone` in this version (no `auth_server`/`proxy_server`). */
  readonly mode: 'standalone';
  readonly trustDomain: TrustDomain;
  readonly storage: StorageConfig;
  readonly credentialTtlSeconds: number;
  readonly renewalIntervalSeconds: number;
  readonly services: readonly ServiceConfig[];
  /** Every workload identity: `workload_identities` plus the translated `svids` of spiffe-workload-api services. */
  readonly identities: WorkloadIdentitySet;
}

/** Options of {@link parseAgentConfig}. */
export interface ParseAgentConfigOptions {
  /** File name for error messages (and `AgentConfig.source`). */
  readonly source?: string;
  /** Directory that relative paths (`storage.path`, `unix:` listen paths, resource files) are resolved against. Required. */
  readonly baseDir: string;
  /**
   * Reads the workload identity file or directory at an absolute path (a directory: every `*.yaml`, `*.yml`,
   * `*.json` in it). Only needed when `workload_identities` names paths; {@link loadAgentConfig} supplies one.
   */
  readonly readResources?: (path: string) => readonly NamedText[];
}

type Obj = Record<string, unknown>;

/** Source name given to excerpts of a config that has no file name (mapped back to "no source" in errors). */
const INLINE = '<config>';

const DEFAULT_CREDENTIAL_TTL_SECONDS = 3600;
const DEFAULT_RENEWAL_INTERVAL_SECONDS = 1200;

const TOP_KEYS = [
  'version',
  'onboarding',
  'storage',
  'auth_server',
  'proxy_server',
  'credential_ttl',
  'renewal_interval',
  'services',
  'outputs',
  'debug',
  'oneshot',
  'fips',
  'diag_addr',
  'trust_domain',
  'workload_identities',
] as const;

/** tbot keys that parse but that wid-agent does not implement yet. */
const UNSUPPORTED_TOP: Readonly<Record<string, string>> = {
  outputs: 'tbot outputs (files written to disk) are not supported yet; use a Workload API service',
  oneshot: 'oneshot mode is not supported yet: the agent serves until stopped',
  fips: 'FIPS mode is not supported yet',
  diag_addr: 'the diagnostics listener is not supported yet',
};

function kindOf(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function present(o: Obj, key: string): boolean {
  return o[key] !== undefined && o[key] !== null;
}

class Reader {
  constructor(readonly y: YamlSource) {}

  map(v: unknown, path: PathSeg[], allowed: readonly string[]): Obj {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      this.y.fail('ERR_WID_AGENT_CONFIG_INVALID_VALUE', path, `must be a map, got ${kindOf(v)}`);
    }
    for (const k of Object.keys(v)) {
      if (!allowed.includes(k)) {
        this.y.fail(
          'ERR_WID_AGENT_CONFIG_UNKNOWN_KEY',
          [...path, k],
          `unknown key ${JSON.stringify(k)}; allowed here: ${allowed.join(', ')}`,
        );
      }
    }
    return v as Obj;
  }

  string(o: Obj, path: PathSeg[], key: string, required: true): string;
  string(o: Obj, path: PathSeg[], key: string, required?: boolean): string | undefined;
  string(o: Obj, path: PathSeg[], key: string, required = false): string | undefined {
    const v = o[key];
    if (v === undefined || v === null) {
      if (required) this.y.fail('ERR_WID_AGENT_CONFIG_MISSING_KEY', [...path, key], 'is required');
      return undefined;
    }
    if (typeof v !== 'string' || v === '') {
      this.y.fail('ERR_WID_AGENT_CONFIG_INVALID_VALUE', [...path, key], `must be a non-empty string, got ${kindOf(v)}`);
    }
    return v;
  }

  bool(o: Obj, path: PathSeg[], key: string, def: boolean): boolean {
    const v = o[key];
    if (v === undefined || v === null) return def;
    if (typeof v !== 'boolean') {
      this.y.fail('ERR_WID_AGENT_CONFIG_INVALID_VALUE', [...path, key], `must be true or false, got ${kindOf(v)}`);
    }
    return v;
  }

  int(o: Obj, path: PathSeg[], key: string, min: number, max: number): number | undefined {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
      this.y.fail(
        'ERR_WID_AGENT_CONFIG_INVALID_VALUE',
        [...path, key],
        `must be an integer from ${min} to ${max}, got ${kindOf(v)}`,
      );
    }
    return v;
  }

  /** A Go duration (`90s`, `1h`), in whole seconds, at least one second. */
  duration(o: Obj, path: PathSeg[], key: string): number | undefined {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') {
      this.y.fail(
        'ERR_WID_AGENT_CONFIG_INVALID_VALUE',
        [...path, key],
        `must be a duration such as 1h or 20m, got ${kindOf(v)}`,
      );
    }
    let ms: number;
    try {
      ms = parseDuration(v);
    } catch (cause) {
      return this.y.fail('ERR_WID_AGENT_CONFIG_INVALID_VALUE', [...path, key], (cause as Error).message, cause);
    }
    if (ms < 1000) {
      this.y.fail(
        'ERR_WID_AGENT_CONFIG_INVALID_VALUE',
        [...path, key],
        `must be at least 1s, got ${JSON.stringify(v)}`,
      );
    }
    return Math.floor(ms / 1000);
  }

  list(v: unknown, path: PathSeg[]): unknown[] {
    if (!Array.isArray(v)) this.y.fail('ERR_WID_AGENT_CONFIG_INVALID_VALUE', path, `must be a list, got ${kindOf(v)}`);
    return v;
  }
}

/** Resolves a `listen` value to an absolute address; `unix:relative/path` is resolved against `baseDir`. */
function resolveListen(r: Reader, value: string, path: PathSeg[], baseDir: string): string {
  const bad = (why: string): never =>
    r.y.fail(
      'ERR_WID_AGENT_CONFIG_INVALID_VALUE',
      path,
      `${why}; write unix:///absolute/path.sock, unix:relative/path.sock (relative to the config file) or tcp://127.0.0.1:8081`,
    );
  if (value.startsWith('unix://')) {
    const rest = value.slice('unix://'.length);
    if (!rest.startsWith('/')) bad(`${JSON.stringify(value)} has an authority ("unix://host/...")`);
    return `unix://${rest}`;
  }
  if (value.startsWith('unix:')) {
    const p = value.slice('unix:'.length);
    if (p === '') bad(`${JSON.stringify(value)} has no path`);
    return `unix://${isAbsolute(p) ? p : resolve(baseDir, p)}`;
  }
  if (value.startsWith('tcp://')) {
    // Syntax is checked by the Workload API server's parser when the service is built; here only the scheme.
    return value;
  }
  return bad(`${JSON.stringify(value)} is not a unix: or tcp:// address`);
}

function readAttestors(r: Reader, v: unknown, path: PathSeg[]): AttestorsConfig {
  const a =
    v === undefined || v === null
      ? {}
      : r.map(v, path, ['unix', 'kubernetes', 'systemd', 'docker', 'podman', 'sigstore']);
  for (const k of ['docker', 'podman', 'sigstore']) {
    if (present(a, k)) {
      r.y.fail('ERR_WID_AGENT_CONFIG_UNSUPPORTED', [...path, k], `the ${k} attestor is not supported yet`);
    }
  }
  const unixPath = [...path, 'unix'];
  const u = present(a, 'unix') ? r.map(a['unix'], unixPath, ['binary_hash_max_size_bytes']) : {};
  const unix: UnixAttestorConfig = {
    binaryHashMaxSizeBytes: r.int(u, unixPath, 'binary_hash_max_size_bytes', -1, Number.MAX_SAFE_INTEGER),
  };
  const kPath = [...path, 'kubernetes'];
  const k = present(a, 'kubernetes') ? r.map(a['kubernetes'], kPath, ['enabled', 'kubelet']) : {};
  const kubeletPath = [...kPath, 'kubelet'];
  const kl = present(k, 'kubelet')
    ? r.map(k['kubelet'], kubeletPath, [
        'secure_port',
        'read_only_port',
        'token_path',
        'ca_path',
        'skip_verify',
        'anonymous',
      ])
    : {};
  const kubernetes: KubernetesAttestorConfig = {
    enabled: r.bool(k, kPath, 'enabled', false),
    kubelet: {
      securePort: r.int(kl, kubeletPath, 'secure_port', 1, 65535),
      readOnlyPort: r.int(kl, kubeletPath, 'read_only_port', 0, 65535),
      tokenPath: r.string(kl, kubeletPath, 'token_path'),
      caPath: r.string(kl, kubeletPath, 'ca_path'),
      skipVerify: r.bool(kl, kubeletPath, 'skip_verify', false),
      anonymous: r.bool(kl, kubeletPath, 'anonymous', false),
    },
  };
  if (kubernetes.kubelet.anonymous && kubernetes.kubelet.tokenPath !== undefined) {
    r.y.fail(
      'ERR_WID_AGENT_CONFIG_CONFLICT',
      [...kubeletPath, 'token_path'],
      'cannot be set together with anonymous: true (anonymous kubelet access sends no token)',
    );
  }
  if (kubernetes.kubelet.skipVerify && kubernetes.kubelet.caPath !== undefined) {
    r.y.fail(
      'ERR_WID_AGENT_CONFIG_CONFLICT',
      [...kubeletPath, 'ca_path'],
      'cannot be set together with skip_verify: true (the CA would be ignored)',
    );
  }
  if (kubernetes.kubelet.readOnlyPort !== undefined && kubernetes.kubelet.readOnlyPort !== 0) {
    for (const [key, set] of [
      ['secure_port', kubernetes.kubelet.securePort !== undefined],
      ['token_path', kubernetes.kubelet.tokenPath !== undefined],
      ['ca_path', kubernetes.kubelet.caPath !== undefined],
      ['skip_verify', kubernetes.kubelet.skipVerify],
      ['anonymous', kubernetes.kubelet.anonymous],
    ] as const) {
      if (set) {
        r.y.fail(
          'ERR_WID_AGENT_CONFIG_CONFLICT',
          [...kubeletPath, key],
          'cannot be set together with read_only_port (the read-only port uses no TLS and no token)',
        );
      }
    }
  }
  if (!kubernetes.enabled && present(k, 'kubelet')) {
    r.y.fail('ERR_WID_AGENT_CONFIG_CONFLICT', kubeletPath, 'is set but kubernetes.enabled is not true');
  }
  const sPath = [...path, 'systemd'];
  const s = present(a, 'systemd') ? r.map(a['systemd'], sPath, ['enabled']) : {};
  return { unix, kubernetes, systemd: { enabled: r.bool(s, sPath, 'enabled', false) } };
}

function readSelector(r: Reader, svc: Obj, path: PathSeg[]): Pick<DecideRequest, 'names' | 'labelSelectors'> {
  const selPath = [...path, 'selector'];
  if (!present(svc, 'selector')) {
    return r.y.fail('ERR_WID_AGENT_CONFIG_MISSING_KEY', selPath, 'is required: give `name` or `labels`');
  }
  const sel = r.map(svc['selector'], selPath, ['name', 'labels']);
  if (present(sel, 'name') && present(sel, 'labels')) {
    r.y.fail('ERR_WID_AGENT_CONFIG_CONFLICT', [...selPath, 'labels'], 'cannot be set together with selector.name');
  }
  if (present(sel, 'name')) return { names: [r.string(sel, selPath, 'name', true)] };
  if (!present(sel, 'labels')) {
    return r.y.fail('ERR_WID_AGENT_CONFIG_MISSING_KEY', selPath, 'needs `name` or `labels`');
  }
  const lPath = [...selPath, 'labels'];
  const labels = r.map(sel['labels'], lPath, Object.keys((sel['labels'] as Obj | null) ?? {}));
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(labels)) {
    const values = r.list(v, [...lPath, k]).map((x, i) => {
      if (typeof x !== 'string' || x === '') {
        r.y.fail(
          'ERR_WID_AGENT_CONFIG_INVALID_VALUE',
          [...lPath, k, i],
          `must be a non-empty string, got ${kindOf(x)}`,
        );
      }
      return x;
    });
    if (values.length === 0)
      r.y.fail('ERR_WID_AGENT_CONFIG_INVALID_VALUE', [...lPath, k], 'must list at least one value');
    out[k] = values;
  }
  if (Object.keys(out).length === 0)
    r.y.fail('ERR_WID_AGENT_CONFIG_INVALID_VALUE', lPath, 'must select at least one label');
  return { labelSelectors: out };
}

/** Turns a rule-engine load error into an agent error naming the config key (and the line the rule engine found). */
function identityError(y: YamlSource, error: unknown, basePath: PathSeg[], fallbackPath: PathSeg[]): never {
  if (!isWidError(error)) throw error;
  const e = error as AgentErrorLike;
  const inner = typeof e.path === 'string' && e.path !== '' ? e.path : undefined;
  const base = formatKey(basePath);
  const key = inner === undefined ? base : inner.startsWith('[') ? `${base}${inner}` : `${base}.${inner}`;
  const pos = e.line !== undefined ? { line: e.line, column: e.column ?? 1 } : y.locate(fallbackPath);
  const source = e.line !== undefined && e.source !== undefined && e.source !== INLINE ? e.source : y.source;
  const reason = e.message.replace(/ \((?:line )?[^()]*\d+:\d+\)$/, '');
  throw new AgentError('ERR_WID_AGENT_CONFIG_WORKLOAD_IDENTITY', `${where(source, pos)}${key}: ${reason} [${e.code}]`, {
    key,
    line: pos?.line,
    column: pos?.column,
    source,
    cause: error,
  });
}

interface AgentErrorLike {
  readonly code: string;
  readonly message: string;
  readonly path?: string;
  readonly line?: number;
  readonly column?: number;
  readonly source?: string;
  readonly resource?: string;
}

/**
 * Parses and validates a wid-agent configuration (tbot's v2 YAML plus the standalone keys `trust_domain` and
 * `workload_identities`). Everything is checked here and nothing is opened: unknown keys, wrong types, impossible
 * combinations and invalid workload identities all throw an {@link AgentError} naming the key and its line.
 *
 * @throws {AgentError} `ERR_WID_AGENT_CONFIG_*` with `key`, `line`, `column`, `source`.
 * @example
 * const config = parseAgentConfig(yamlText, { source: 'agent.yaml', baseDir: '/etc/wid' });
 * config.services[0]?.listen; // 'unix:///run/wid/agent.sock'
 */
export function parseAgentConfig(text: string, options: ParseAgentConfigOptions): AgentConfig {
  const y = YamlSource.parse(text, options.source);
  const r = new Reader(y);
  const baseDir = resolve(options.baseDir);
  if (y.value === undefined || y.value === null) {
    y.fail('ERR_WID_AGENT_CONFIG_MISSING_KEY', [], 'the configuration is empty: it needs at least `version: v2`');
  }
  const top = r.map(y.value, [], TOP_KEYS);

  // version
  const version = top['version'];
  if (version === undefined || version === null) {
    y.fail('ERR_WID_AGENT_CONFIG_MISSING_KEY', ['version'], 'is required: write `version: v2`');
  }
  if (version !== 'v2') {
    y.fail('ERR_WID_AGENT_CONFIG_INVALID_VALUE', ['version'], `must be v2 (tbot's v2 format), got ${kindOf(version)}`);
  }
  for (const [k, why] of Object.entries(UNSUPPORTED_TOP)) {
    if (present(top, k)) y.fail('ERR_WID_AGENT_CONFIG_UNSUPPORTED', [k], why);
  }
  if (present(top, 'debug')) r.bool(top, [], 'debug', false);

  // joined vs standalone
  if (present(top, 'auth_server') && present(top, 'proxy_server')) {
    y.fail('ERR_WID_AGENT_CONFIG_CONFLICT', ['proxy_server'], 'cannot be set together with auth_server: choose one');
  }
  for (const k of ['auth_server', 'proxy_server']) {
    if (present(top, k)) {
      r.string(top, [], k);
      y.fail(
        'ERR_WID_AGENT_CONFIG_UNSUPPORTED',
        [k],
        'joining a wid server is not supported yet; remove it to run standalone with `trust_domain` and `workload_identities`',
      );
    }
  }
  if (present(top, 'onboarding')) {
    r.map(top['onboarding'], ['onboarding'], ['join_method', 'token', 'ca_pins', 'ca_path']);
    y.fail(
      'ERR_WID_AGENT_CONFIG_CONFLICT',
      ['onboarding'],
      'is only used to join a server (auth_server / proxy_server); a standalone agent does not join',
    );
  }
  const tdText = r.string(top, [], 'trust_domain', true);
  let trustDomain: TrustDomain;
  try {
    trustDomain = TrustDomain.parse(tdText);
  } catch (cause) {
    return y.fail('ERR_WID_AGENT_CONFIG_INVALID_VALUE', ['trust_domain'], (cause as Error).message, cause);
  }

  // storage
  let storage: StorageConfig = { type: 'memory' };
  if (present(top, 'storage')) {
    const sv = top['storage'];
    const sPath: PathSeg[] = ['storage'];
    const type = r.map(sv, sPath, Object.keys(sv as Obj))['type'];
    if (type === undefined || type === null) {
      y.fail(
        'ERR_WID_AGENT_CONFIG_MISSING_KEY',
        [...sPath, 'type'],
        'is required: memory, directory or kubernetes_secret',
      );
    }
    if (type === 'memory') {
      r.map(sv, sPath, ['type']);
    } else if (type === 'directory') {
      const s = r.map(sv, sPath, ['type', 'path', 'symlinks', 'acls', 'readers']);
      const p = r.string(s, sPath, 'path', true);
      for (const [k, allowed] of [
        ['symlinks', ['secure', 'try-secure', 'insecure']],
        ['acls', ['off', 'try', 'required']],
      ] as const) {
        if (present(s, k) && !(allowed as readonly unknown[]).includes(s[k])) {
          y.fail('ERR_WID_AGENT_CONFIG_INVALID_VALUE', [...sPath, k], `must be one of ${allowed.join(', ')}`);
        }
      }
      if (present(s, 'readers') || s['acls'] === 'required') {
        y.fail(
          'ERR_WID_AGENT_CONFIG_UNSUPPORTED',
          [...sPath, present(s, 'readers') ? 'readers' : 'acls'],
          'filesystem ACLs are not supported yet; the storage directory is private to the agent user (mode 0700)',
        );
      }
      storage = { type: 'directory', path: resolve(baseDir, p) };
    } else if (type === 'kubernetes_secret') {
      r.map(sv, sPath, ['type', 'name']);
      y.fail(
        'ERR_WID_AGENT_CONFIG_UNSUPPORTED',
        [...sPath, 'type'],
        'kubernetes_secret storage is not supported yet in standalone mode; use type: directory (or memory)',
      );
    } else {
      y.fail(
        'ERR_WID_AGENT_CONFIG_INVALID_VALUE',
        [...sPath, 'type'],
        `must be memory, directory or kubernetes_secret, got ${kindOf(type)}`,
      );
    }
  }

  const credentialTtlSeconds = r.duration(top, [], 'credential_ttl') ?? DEFAULT_CREDENTIAL_TTL_SECONDS;
  const renewalIntervalSeconds =
    r.duration(top, [], 'renewal_interval') ??
    (present(top, 'credential_ttl')
      ? Math.max(1, Math.floor(credentialTtlSeconds / 2))
      : DEFAULT_RENEWAL_INTERVAL_SECONDS);
  if (renewalIntervalSeconds >= credentialTtlSeconds) {
    y.fail(
      'ERR_WID_AGENT_CONFIG_CONFLICT',
      [present(top, 'renewal_interval') ? 'renewal_interval' : 'credential_ttl'],
      `renewal_interval (${renewalIntervalSeconds}s) must be shorter than credential_ttl (${credentialTtlSeconds}s), or SVIDs would expire before they are renewed`,
    );
  }

  // workload identities
  const items: (WorkloadIdentityResource | NamedText)[] = [];
  const origins: { path: PathSeg[]; names: string[] }[] = [];
  if (present(top, 'workload_identities')) {
    const wPath: PathSeg[] = ['workload_identities'];
    const w = top['workload_identities'];
    const entries: [unknown, PathSeg[]][] =
      typeof w === 'string' ? [[w, wPath]] : r.list(w, wPath).map((e, i) => [e, [...wPath, i]]);
    for (const [entry, path] of entries) {
      if (typeof entry === 'string') {
        const readResources = options.readResources;
        if (readResources === undefined) {
          return y.fail(
            'ERR_WID_AGENT_CONFIG_READ',
            path,
            'names a file but no file reader was given (use loadAgentConfig)',
          );
        }
        const file = resolve(baseDir, entry);
        let texts: readonly NamedText[];
        try {
          texts = readResources(file);
        } catch (cause) {
          return y.fail('ERR_WID_AGENT_CONFIG_READ', path, `cannot read ${file}: ${(cause as Error).message}`, cause);
        }
        for (const t of texts) {
          // Validate each file alone so an error names its file and line; the set is built once below.
          try {
            const set = loadWorkloadIdentities(t, { trustDomain });
            origins.push({ path, names: set.names() });
          } catch (error) {
            identityError(y, error, path, path);
          }
          items.push(t);
        }
      } else if (entry !== null && typeof entry === 'object' && !Array.isArray(entry)) {
        const excerpt = y.excerpt(path);
        const item: NamedText | WorkloadIdentityResource =
          excerpt === undefined ? (entry as WorkloadIdentityResource) : { text: excerpt, source: y.source ?? INLINE };
        try {
          const set = loadWorkloadIdentities(item as NamedText, { trustDomain });
          origins.push({ path, names: set.names() });
        } catch (error) {
          identityError(y, error, path, path);
        }
        items.push(item);
      } else {
        y.fail(
          'ERR_WID_AGENT_CONFIG_INVALID_VALUE',
          path,
          `must be a workload_identity resource (a map) or a path to resource files, got ${kindOf(entry)}`,
        );
      }
    }
  }

  // services
  const services: ServiceConfig[] = [];
  const svcList = present(top, 'services') ? r.list(top['services'], ['services']) : [];
  if (svcList.length === 0) {
    y.fail(
      'ERR_WID_AGENT_CONFIG_MISSING_KEY',
      ['services'],
      'needs at least one service (type: workload-identity-api)',
    );
  }
  const listens = new Map<string, number>();
  const pendingNames: { path: PathSeg[]; name: string }[] = [];
  for (const [i, sv] of svcList.entries()) {
    const path: PathSeg[] = ['services', i];
    const type = r.map(sv, path, Object.keys((sv as Obj | null) ?? {}))['type'];
    const common = ['type', 'listen', 'attestors', 'credential_ttl', 'renewal_interval'];
    let svc: Obj;
    let selector: Pick<DecideRequest, 'names' | 'labelSelectors'>;
    if (type === 'workload-identity-api') {
      svc = r.map(sv, path, [...common, 'selector']);
      selector = readSelector(r, svc, path);
      if (selector.names !== undefined)
        pendingNames.push({ path: [...path, 'selector', 'name'], name: selector.names[0]! });
    } else if (type === 'spiffe-workload-api') {
      svc = r.map(sv, path, [...common, 'svids', 'jwt_svid_ttl']);
      if (present(svc, 'jwt_svid_ttl')) r.duration(svc, path, 'jwt_svid_ttl');
      const sPath = [...path, 'svids'];
      if (!present(svc, 'svids')) y.fail('ERR_WID_AGENT_CONFIG_MISSING_KEY', sPath, 'needs at least one svid');
      if (r.list(svc['svids'], sPath).length === 0)
        y.fail('ERR_WID_AGENT_CONFIG_INVALID_VALUE', sPath, 'needs at least one svid');
      const prefix = `services-${i}-svid-`;
      let translated: WorkloadIdentityResource[];
      const excerpt = y.excerpt(sPath);
      try {
        translated = translateLegacySvids(excerpt ?? svc['svids'], { namePrefix: prefix, source: y.source ?? INLINE });
      } catch (error) {
        return identityError(y, error, sPath, sPath);
      }
      translated.forEach((res, k) => {
        try {
          loadWorkloadIdentities(res, { trustDomain });
        } catch (error) {
          identityError(y, error, [...sPath, k], [...sPath, k]);
        }
        items.push(res);
        origins.push({ path: [...sPath, k], names: [res.metadata.name] });
      });
      selector = { names: translated.map((t) => t.metadata.name) };
    } else if (type === undefined || type === null) {
      return y.fail(
        'ERR_WID_AGENT_CONFIG_MISSING_KEY',
        [...path, 'type'],
        'is required: workload-identity-api or spiffe-workload-api',
      );
    } else {
      return y.fail(
        'ERR_WID_AGENT_CONFIG_UNSUPPORTED',
        [...path, 'type'],
        `service type ${JSON.stringify(type)} is not supported; wid-agent runs workload-identity-api and spiffe-workload-api services`,
      );
    }
    const listenAsWritten = r.string(svc, path, 'listen', true);
    const listen = resolveListen(r, listenAsWritten, [...path, 'listen'], baseDir);
    const prev = listens.get(listen);
    if (prev !== undefined) {
      y.fail('ERR_WID_AGENT_CONFIG_CONFLICT', [...path, 'listen'], `${listen} is already used by services[${prev}]`);
    }
    listens.set(listen, i);
    const attestors = readAttestors(r, svc['attestors'], [...path, 'attestors']);
    const ttl = r.duration(svc, path, 'credential_ttl') ?? credentialTtlSeconds;
    const renewal =
      r.duration(svc, path, 'renewal_interval') ??
      (present(svc, 'credential_ttl')
        ? Math.min(renewalIntervalSeconds, Math.max(1, Math.floor(ttl / 2)))
        : renewalIntervalSeconds);
    if (renewal >= ttl) {
      y.fail(
        'ERR_WID_AGENT_CONFIG_CONFLICT',
        [...path, present(svc, 'renewal_interval') ? 'renewal_interval' : 'credential_ttl'],
        `renewal_interval (${renewal}s) must be shorter than credential_ttl (${ttl}s)`,
      );
    }
    services.push({
      index: i,
      type,
      listenAsWritten,
      listen,
      selector,
      attestors,
      credentialTtlSeconds: ttl,
      renewalIntervalSeconds: renewal,
    });
  }

  // Build the one set (duplicate names across sources are caught here).
  let identities: WorkloadIdentitySet;
  try {
    identities = loadWorkloadIdentities(items, { trustDomain });
  } catch (error) {
    const resource = (error as AgentErrorLike).resource;
    const origin = origins.find((o) => resource !== undefined && o.names.includes(resource));
    const path = origin?.path ?? ['workload_identities'];
    return identityError(y, error, path, path);
  }
  for (const { path, name } of pendingNames) {
    if (identities.get(name) === undefined) {
      y.fail(
        'ERR_WID_AGENT_CONFIG_CONFLICT',
        path,
        `no workload identity is named ${JSON.stringify(name)}; defined: ${identities.names().join(', ') || '(none)'}`,
      );
    }
  }
  for (const svc of services) {
    if (svc.type === 'workload-identity-api' && svc.selector.labelSelectors !== undefined) {
      if (identities.select(svc.selector).length === 0) {
        y.fail(
          'ERR_WID_AGENT_CONFIG_CONFLICT',
          ['services', svc.index, 'selector', 'labels'],
          'selects no workload identity: no resource in workload_identities has these labels',
        );
      }
    }
  }

  return Object.freeze({
    source: options.source,
    baseDir,
    mode: 'standalone' as const,
    trustDomain,
    storage,
    credentialTtlSeconds,
    renewalIntervalSeconds,
    services: Object.freeze(services),
    identities,
  });
}
