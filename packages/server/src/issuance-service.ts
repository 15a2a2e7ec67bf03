import { createHash, type KeyObject } from 'node:crypto';
import {
  type DecideRequest,
  type Decision,
  type DenyDecision,
  decide,
  type IssueDecision,
  type WorkloadIdentitySet,
} from '@wid/rule-engine';
import { isWidError, type TrustDomain } from '@wid/spiffe-id';
import { type CertificateAuthority, JwtSvid, type SpiffeBundle } from '@wid/svid-issuer';
import { AUDIT_MAX_AUDIENCE_LENGTH, AUDIT_MAX_AUDIENCES, type AuditEvent, type AuditSink } from './audit.js';
import { ServerError } from './errors.js';
import { type Clock, type ServerLogger, SILENT_LOGGER, SYSTEM_CLOCK } from './logger.js';

/**
 * Which workload identity resources to decide: by name (in this order), or by label selector (every key must match;
 * a value list matches any of its values, `*` any value).
 *
 * @example
 * const byName: IdentitySelector = { names: ['web'] };
 * const byLabels: IdentitySelector = { labels: { env: ['prod'] } };
 */
export type IdentitySelector =
  | { readonly names: readonly string[] }
  | { readonly labels: Readonly<Record<string, readonly string[]>> };

/** What every issuance request carries: who asks (attributes) and what for (selector). */
export interface IssuanceRequestBase {
  /** Attributes from attestation, e.g. `{ workload: { unix: { attested: true, uid: 1000, ... } } }`. Untrusted input. */
  readonly attributes: Readonly<Record<string, unknown>>;
  /** `join.*` attributes (set by whoever verified the agent's join; replace any `join` key of `attributes`). */
  readonly join?: Readonly<Record<string, unknown>>;
  /** `user.*` attributes (replace any `user` key of `attributes`). */
  readonly user?: Readonly<Record<string, unknown>>;
  readonly selector: IdentitySelector;
  /** Requested lifetime in seconds; clamped to the resource's `maximum_ttl`, the service's maximum and the CA's expiry. */
  readonly ttlSeconds?: number;
}

/** A request for X.509-SVIDs. */
export interface X509IssuanceRequest extends IssuanceRequestBase {
  /** The workload's public key (KeyObject or SPKI DER). Absent: the CA generates an EC P-256 key and returns it. */
  readonly publicKey?: KeyObject | Uint8Array;
}

/** A request for JWT-SVIDs. */
export interface JwtIssuanceRequest extends IssuanceRequestBase {
  /** At least one audience. */
  readonly audience: readonly string[];
  /** Issue only for this SPIFFE ID (others the workload earns are skipped, not denied). */
  readonly spiffeId?: string;
}

/** A request to decide (not sign): which identities the attributes earn. */
export interface DecideIdentitiesRequest extends IssuanceRequestBase {
  /** Which `maximum_ttl` applies. Default `x509`. */
  readonly svidType?: 'x509' | 'jwt';
}

/** A resource the workload did not earn, and why. */
export interface IssuanceDenial {
  readonly resource: string;
  readonly revision: string | undefined;
  /** Stable machine-readable reason (@wid/rule-engine `DENIAL_CODES`). */
  readonly code: string;
  /** The reason for people. */
  readonly reason: string;
  readonly attribute: string | undefined;
  readonly field: string | undefined;
  readonly rule: number | undefined;
}

/** An identity the workload earns (decided, not yet signed). */
export interface DecidedIdentity {
  /**
   * Cache key of the decision: SPIFFE ID + resource revision + every issuance parameter. Two workloads with equal
   * keys may share one SVID.
   */
  readonly key: string;
  readonly spiffeId: string;
  readonly resource: string;
  readonly revision: string;
  readonly hint: string | undefined;
  readonly dnsSans: readonly string[];
  /** TTL after the resource's and the service's maximum (the CA may still cut it at its own expiry). */
  readonly ttlSeconds: number;
}

/** The outcome of {@link IssuanceService.decide}. */
export interface DecideIdentitiesResult {
  readonly identities: readonly DecidedIdentity[];
  readonly denials: readonly IssuanceDenial[];
}

/** Fields every issued credential carries. */
export interface IssuedCredentialBase {
  /** {@link DecidedIdentity.key} of the decision it was issued for. */
  readonly key: string;
  readonly spiffeId: string;
  readonly hint: string | undefined;
  readonly resource: string;
  readonly revision: string;
  readonly issuedAt: Date;
  readonly expiresAt: Date;
  /** Actual lifetime (`expiresAt - issuedAt`), in whole seconds. */
  readonly ttlSeconds: number;
}

/** An issued X.509-SVID. */
export interface IssuedX509Credential extends IssuedCredentialBase {
  readonly type: 'x509';
  /** DER certificates: the leaf, then intermediates (not the root). */
  readonly certChain: readonly Uint8Array[];
  /** The generated private key (only when the request had no public key). */
  readonly privateKey: KeyObject | undefined;
  /** Hex serial number of the leaf. */
  readonly serialNumber: string;
  readonly dnsSans: readonly string[];
}

/** An issued JWT-SVID. */
export interface IssuedJwtCredential extends IssuedCredentialBase {
  readonly type: 'jwt';
  /** The compact JWS (a bearer credential: never log it). */
  readonly token: string;
  readonly jti: string;
  readonly audience: readonly string[];
}

/** Credentials issued, and the resources that denied. */
export interface IssuanceResult<C> {
  readonly credentials: readonly C[];
  readonly denials: readonly IssuanceDenial[];
}

/** What {@link IssuanceService.validateJwtSvid} answers for a valid token. */
export interface ValidatedToken {
  readonly spiffeId: string;
  readonly claims: Readonly<Record<string, unknown>>;
}

/**
 * Attributes + selector → decided, signed, audited credentials. Implemented in-process by
 * {@link createIssuanceService} and, later, by a network client talking to `wid-server`; every method is async.
 *
 * @example
 * const { credentials, denials } = await issuance.issueX509({ attributes, selector: { names: ['web'] } });
 */
export interface IssuanceService {
  /** The trust domain it issues for. */
  readonly trustDomain: TrustDomain;
  /** Which identities `attributes` earn (no signing). Denials are audited. */
  decide(request: DecideIdentitiesRequest): Promise<DecideIdentitiesResult>;
  /** Decide and sign X.509-SVIDs. @throws {ServerError} `ERR_WID_SERVER_INVALID_REQUEST`, `ERR_WID_SERVER_SIGNING_FAILED` */
  issueX509(request: X509IssuanceRequest): Promise<IssuanceResult<IssuedX509Credential>>;
  /** Decide and sign JWT-SVIDs. @throws {ServerError} `ERR_WID_SERVER_INVALID_REQUEST`, `ERR_WID_SERVER_SIGNING_FAILED` */
  issueJwt(request: JwtIssuanceRequest): Promise<IssuanceResult<IssuedJwtCredential>>;
  /** The trust domain's current SPIFFE bundle (X.509 authorities, JWT keys, sequence). */
  bundle(): Promise<SpiffeBundle>;
  /** Calls `listener` with the new bundle after every bundle change (CA rotation). Returns the unsubscribe function. */
  onBundleChange(listener: (bundle: SpiffeBundle) => void): () => void;
  /** Calls `listener` when the workload identity resources change (so cached decisions must be re-made). */
  onIdentitiesChange(listener: () => void): () => void;
  /** Validates a JWT-SVID for `audience` against the bundle. @throws {ServerError} `ERR_WID_SERVER_INVALID_JWT_SVID` */
  validateJwtSvid(token: string, audience: string): Promise<ValidatedToken>;
}

/** The in-process {@link IssuanceService}, with rule reload. */
export interface LocalIssuanceService extends IssuanceService {
  /** The rules in force. */
  identities(): WorkloadIdentitySet;
  /** Replaces the rules (config reload) and notifies {@link IssuanceService.onIdentitiesChange} listeners. */
  setIdentities(identities: WorkloadIdentitySet): void;
  /** Stops listening to the CA. Does not close the CA (the service did not create it). */
  close(): void;
  [Symbol.dispose](): void;
}

/** Options of {@link createIssuanceService}. */
export interface IssuanceServiceOptions {
  /** Trust domain; must equal the CA's and the identity set's. Default: the CA's. */
  readonly trustDomain?: TrustDomain | string;
  /** Workload identity resources from @wid/rule-engine's `loadWorkloadIdentities`. */
  readonly identities: WorkloadIdentitySet;
  /** The CA that signs (e.g. `(await openCertificateAuthority(...)).ca`). */
  readonly ca: CertificateAuthority;
  /** Time source for audit timestamps and JWT validation. Default: the system clock. */
  readonly clock?: Clock;
  /** pino-compatible logger; audit events are logged at info with `msg: 'audit'`. Default: silent. */
  readonly logger?: ServerLogger;
  /** Receives every audit event too. */
  readonly auditSink?: AuditSink;
  /** Upper bound on X.509-SVID lifetime, in seconds, on top of each resource's `maximum_ttl`. Default: none. */
  readonly maxX509TtlSeconds?: number;
  /** Upper bound on JWT-SVID lifetime, in seconds, on top of each resource's `maximum_ttl`. Default: none. */
  readonly maxJwtTtlSeconds?: number;
}

/**
 * Creates the in-process issuance service: rules from @wid/rule-engine, signing by a @wid/svid-issuer CA, one audit
 * event per credential issued or denied.
 *
 * @example
 * const { ca } = await openCertificateAuthority({ storage: createMemoryStorage(), trustDomain: 'example.org' });
 * const identities = loadWorkloadIdentities(yaml, { trustDomain: 'example.org' });
 * const issuance = createIssuanceService({ identities, ca, logger });
 * const { credentials } = await issuance.issueX509({
 *   attributes: { workload: { unix: { attested: true, uid: 1000, gid: 1000, pid: 42 } } },
 *   selector: { names: ['web'] },
 * });
 * credentials[0]?.spiffeId; // 'spiffe://example.org/...'
 */
export function createIssuanceService(options: IssuanceServiceOptions): LocalIssuanceService {
  return new LocalService(options);
}

function badOption(key: string, message: string): ServerError {
  return new ServerError('ERR_WID_SERVER_INVALID_OPTION', `option "${key}": ${message}`, { key });
}

function badRequest(key: string, message: string, cause?: unknown): ServerError {
  return new ServerError('ERR_WID_SERVER_INVALID_REQUEST', `request "${key}": ${message}`, { key, cause });
}

function optionalTtl(options: object, key: string): number | undefined {
  const v = (options as Record<string, unknown>)[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw badOption(key, `must be a whole number of seconds ≥ 1, got ${String(v)}`);
  }
  return v;
}

/** Key of a decision: SPIFFE ID, revision, and a hash of every parameter that shapes the credential. @internal */
export function decisionKey(d: IssueDecision, svidType: 'x509' | 'jwt', ttlSeconds: number): string {
  const params = JSON.stringify([
    svidType,
    d.resource,
    d.hint ?? null,
    d.dnsSans,
    d.ipSans,
    d.subject ?? null,
    ttlSeconds,
    svidType === 'jwt' ? d.extraClaims : null,
  ]);
  const hash = createHash('sha256').update(params).digest('base64url').slice(0, 22);
  return `${d.spiffeId.toString()}#${d.revision}#${hash}`;
}

class LocalService implements LocalIssuanceService {
  readonly trustDomain: TrustDomain;
  readonly #ca: CertificateAuthority;
  readonly #clock: Clock;
  readonly #log: ServerLogger;
  readonly #sink: AuditSink | undefined;
  readonly #maxTtl: { readonly x509: number | undefined; readonly jwt: number | undefined };
  #identities: WorkloadIdentitySet;
  readonly #bundleListeners = new Set<(b: SpiffeBundle) => void>();
  readonly #identityListeners = new Set<() => void>();
  #lastSequence: bigint;
  #unsubscribeCa: (() => void) | undefined;

  constructor(o: IssuanceServiceOptions) {
    if (typeof o !== 'object' || o === null) throw badOption('options', 'must be an object');
    const ca = o.ca;
    if (typeof ca?.issueX509Svid !== 'function' || typeof ca.onChange !== 'function') {
      throw badOption('ca', 'must be a CertificateAuthority from @wid/svid-issuer');
    }
    this.#ca = ca;
    this.trustDomain = ca.trustDomain;
    if (o.trustDomain !== undefined && String(o.trustDomain) !== ca.trustDomain.name) {
      throw badOption(
        'trustDomain',
        `"${String(o.trustDomain)}" is not the CA's trust domain "${ca.trustDomain.name}"`,
      );
    }
    this.#identities = this.#checkSet(o.identities, 'identities');
    const clock = o.clock ?? SYSTEM_CLOCK;
    if (typeof clock?.now !== 'function') throw badOption('clock', 'must have a now(): Date method');
    this.#clock = clock;
    this.#log = o.logger ?? SILENT_LOGGER;
    if (o.auditSink !== undefined && typeof o.auditSink?.write !== 'function') {
      throw badOption('auditSink', 'must have a write(event) method');
    }
    this.#sink = o.auditSink;
    this.#maxTtl = { x509: optionalTtl(o, 'maxX509TtlSeconds'), jwt: optionalTtl(o, 'maxJwtTtlSeconds') };
    this.#lastSequence = ca.sequence;
    this.#unsubscribeCa = ca.onChange(() => this.#checkBundle());
  }

  #checkSet(set: WorkloadIdentitySet, key: string): WorkloadIdentitySet {
    if (typeof set !== 'object' || set === null || typeof (set as { names?: unknown }).names !== 'function') {
      throw badOption(key, 'must be a WorkloadIdentitySet from loadWorkloadIdentities');
    }
    if (!set.trustDomain.equals(this.trustDomain)) {
      throw badOption(
        key,
        `the identities are for trust domain "${set.trustDomain.name}", the CA for "${this.trustDomain.name}"`,
      );
    }
    return set;
  }

  #checkBundle(): void {
    const sequence = this.#ca.sequence;
    if (sequence === this.#lastSequence) return;
    this.#lastSequence = sequence;
    const bundle = this.#ca.bundle();
    for (const l of [...this.#bundleListeners]) {
      try {
        l(bundle);
      } catch (err) {
        this.#log.error({ err }, 'bundle change listener threw');
      }
    }
  }

  identities(): WorkloadIdentitySet {
    return this.#identities;
  }

  setIdentities(identities: WorkloadIdentitySet): void {
    this.#identities = this.#checkSet(identities, 'identities');
    this.#log.info({ identities: identities.names() }, 'workload identities replaced');
    for (const l of [...this.#identityListeners]) {
      try {
        l();
      } catch (err) {
        this.#log.error({ err }, 'identities change listener threw');
      }
    }
  }

  close(): void {
    this.#unsubscribeCa?.();
    this.#unsubscribeCa = undefined;
    this.#bundleListeners.clear();
    this.#identityListeners.clear();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  // ---- deciding ----

  #attributes(r: IssuanceRequestBase): Record<string, unknown> {
    if (typeof r !== 'object' || r === null) throw badRequest('request', 'must be an object');
    const a = r.attributes;
    if (typeof a !== 'object' || a === null || Array.isArray(a)) throw badRequest('attributes', 'must be an object');
    const tree: Record<string, unknown> = { ...a };
    if (r.join !== undefined) tree.join = r.join;
    if (r.user !== undefined) tree.user = r.user;
    return tree;
  }

  #decideRequest(r: IssuanceRequestBase, svidType: 'x509' | 'jwt'): DecideRequest {
    const s = r.selector as unknown;
    if (typeof s !== 'object' || s === null) throw badRequest('selector', 'must be { names } or { labels }');
    const names = (s as { names?: unknown }).names;
    const labels = (s as { labels?: unknown }).labels;
    if ((names === undefined) === (labels === undefined)) {
      throw badRequest('selector', 'give exactly one of `names` and `labels`');
    }
    if (r.ttlSeconds !== undefined && (!Number.isInteger(r.ttlSeconds) || r.ttlSeconds < 1)) {
      throw badRequest('ttlSeconds', `must be a whole number of seconds ≥ 1, got ${String(r.ttlSeconds)}`);
    }
    return {
      ...(names === undefined
        ? { labelSelectors: labels as DecideRequest['labelSelectors'] }
        : { names: names as string[] }),
      ...(r.ttlSeconds === undefined ? {} : { ttlSeconds: r.ttlSeconds }),
      svidType,
    };
  }

  #decide(
    r: IssuanceRequestBase,
    svidType: 'x509' | 'jwt',
  ): {
    attributes: Record<string, unknown>;
    issue: { d: IssueDecision; ttl: number; key: string }[];
    denials: IssuanceDenial[];
  } {
    const attributes = this.#attributes(r);
    const request = this.#decideRequest(r, svidType);
    let decisions: Decision[];
    try {
      decisions = decide(this.#identities, attributes, request);
    } catch (cause) {
      const code = isWidError(cause) ? cause.code : 'error';
      throw badRequest(
        'selector',
        `the rules cannot decide this request (${code}): ${(cause as Error).message}`,
        cause,
      );
    }
    const max = this.#maxTtl[svidType];
    const issue: { d: IssueDecision; ttl: number; key: string }[] = [];
    const denials: IssuanceDenial[] = [];
    for (const d of decisions) {
      if (d.kind === 'issue') {
        const ttl = max === undefined ? d.ttlSeconds : Math.min(d.ttlSeconds, max);
        issue.push({ d, ttl, key: decisionKey(d, svidType, ttl) });
      } else denials.push(toDenial(d));
    }
    for (const d of denials) this.#auditDenial(d, svidType, attributes);
    return { attributes, issue, denials };
  }

  async decide(request: DecideIdentitiesRequest): Promise<DecideIdentitiesResult> {
    const svidType = request?.svidType ?? 'x509';
    if (svidType !== 'x509' && svidType !== 'jwt') throw badRequest('svidType', 'must be "x509" or "jwt"');
    const { issue, denials } = this.#decide(request, svidType);
    return {
      identities: issue.map(({ d, ttl, key }) =>
        Object.freeze({
          key,
          spiffeId: d.spiffeId.toString(),
          resource: d.resource,
          revision: d.revision,
          hint: d.hint,
          dnsSans: d.dnsSans,
          ttlSeconds: ttl,
        }),
      ),
      denials,
    };
  }

  // ---- signing ----

  async issueX509(request: X509IssuanceRequest): Promise<IssuanceResult<IssuedX509Credential>> {
    const { attributes, issue, denials } = this.#decide(request, 'x509');
    const credentials: IssuedX509Credential[] = [];
    for (const { d, ttl, key } of issue) {
      let issued: ReturnType<CertificateAuthority['issueX509Svid']>;
      try {
        issued = this.#ca.issueX509Svid({
          spiffeId: d.spiffeId,
          ...(request.publicKey === undefined ? {} : { publicKey: request.publicKey }),
          ttlSeconds: ttl,
          dnsSans: d.dnsSans,
          ...(d.subject === undefined ? {} : { subject: d.subject }),
          ...(d.hint === undefined ? {} : { hint: d.hint }),
        });
      } catch (cause) {
        throw this.#signingFailed(d, cause);
      }
      const leaf = issued.certificates[0];
      const issuedAt = this.#clock.now();
      const credential: IssuedX509Credential = Object.freeze({
        type: 'x509',
        key,
        spiffeId: d.spiffeId.toString(),
        hint: d.hint,
        resource: d.resource,
        revision: d.revision,
        issuedAt,
        expiresAt: issued.notAfter,
        ttlSeconds: Math.max(0, Math.round((issued.notAfter.getTime() - issuedAt.getTime()) / 1000)),
        certChain: issued.certificatesDer,
        privateKey: issued.privateKey,
        serialNumber: leaf?.serialNumber.toLowerCase() ?? '',
        dnsSans: d.dnsSans,
      });
      credentials.push(credential);
      this.#audit({
        type: 'svid.issued',
        svidType: 'x509',
        at: issuedAt.toISOString(),
        resource: d.resource,
        revision: d.revision,
        spiffeId: credential.spiffeId,
        ...(d.hint === undefined ? {} : { hint: d.hint }),
        serialNumber: credential.serialNumber,
        dnsSans: d.dnsSans,
        ttlSeconds: credential.ttlSeconds,
        expiresAt: credential.expiresAt.toISOString(),
        attributes,
      });
    }
    return { credentials, denials };
  }

  async issueJwt(request: JwtIssuanceRequest): Promise<IssuanceResult<IssuedJwtCredential>> {
    const audience = request?.audience as unknown;
    if (!Array.isArray(audience) || audience.length === 0 || audience.some((a) => typeof a !== 'string' || a === '')) {
      throw badRequest('audience', 'must be a non-empty array of non-empty strings');
    }
    if (request.spiffeId !== undefined && typeof request.spiffeId !== 'string') {
      throw badRequest('spiffeId', 'must be a SPIFFE ID string');
    }
    const { attributes, issue, denials } = this.#decide(request, 'jwt');
    const credentials: IssuedJwtCredential[] = [];
    for (const { d, ttl, key } of issue) {
      if (request.spiffeId !== undefined && d.spiffeId.toString() !== request.spiffeId) continue;
      let svid: JwtSvid;
      try {
        svid = this.#ca.issueJwtSvid({
          spiffeId: d.spiffeId,
          audience: audience as string[],
          ttlSeconds: ttl,
          extraClaims: d.extraClaims,
          ...(d.hint === undefined ? {} : { hint: d.hint }),
        });
      } catch (cause) {
        throw this.#signingFailed(d, cause);
      }
      const claims = svid.claims;
      const iat = typeof claims.iat === 'number' ? claims.iat : Math.floor(this.#clock.now().getTime() / 1000);
      const expiresAt = svid.expiry;
      const credential: IssuedJwtCredential = Object.freeze({
        type: 'jwt',
        key,
        spiffeId: d.spiffeId.toString(),
        hint: d.hint,
        resource: d.resource,
        revision: d.revision,
        issuedAt: new Date(iat * 1000),
        expiresAt,
        ttlSeconds: Math.max(0, expiresAt.getTime() / 1000 - iat),
        token: svid.token,
        jti: String(claims.jti ?? ''),
        audience: svid.audience,
      });
      credentials.push(credential);
      this.#audit({
        type: 'svid.issued',
        svidType: 'jwt',
        at: this.#clock.now().toISOString(),
        resource: d.resource,
        revision: d.revision,
        spiffeId: credential.spiffeId,
        ...(d.hint === undefined ? {} : { hint: d.hint }),
        jti: credential.jti,
        ...auditAudience(credential.audience),
        ttlSeconds: credential.ttlSeconds,
        expiresAt: expiresAt.toISOString(),
        attributes,
      });
    }
    return { credentials, denials };
  }

  #signingFailed(d: IssueDecision, cause: unknown): ServerError {
    const spiffeId = d.spiffeId.toString();
    this.#log.error({ err: cause, spiffeId, resource: d.resource }, 'signing failed');
    return new ServerError(
      'ERR_WID_SERVER_SIGNING_FAILED',
      `cannot sign for "${spiffeId}" (resource "${d.resource}"): ${(cause as Error)?.message ?? String(cause)}`,
      { spiffeId, trustDomain: this.trustDomain.name, cause },
    );
  }

  // ---- audit ----

  #auditDenial(d: IssuanceDenial, svidType: 'x509' | 'jwt', attributes: Record<string, unknown>): void {
    this.#audit({
      type: 'svid.denied',
      svidType,
      at: this.#clock.now().toISOString(),
      resource: d.resource,
      revision: d.revision,
      code: d.code,
      reason: d.reason,
      attributes,
    });
  }

  #audit(event: AuditEvent): void {
    const frozen = Object.freeze(event);
    this.#log.info({ audit: frozen }, 'audit');
    if (this.#sink === undefined) return;
    try {
      const p = this.#sink.write(frozen);
      if (p !== undefined && typeof (p as Promise<void>).then === 'function') {
        (p as Promise<void>).then(undefined, (err: unknown) => this.#log.error({ err }, 'audit sink failed'));
      }
    } catch (err) {
      this.#log.error({ err }, 'audit sink failed');
    }
  }

  // ---- bundles and validation ----

  async bundle(): Promise<SpiffeBundle> {
    return this.#ca.bundle();
  }

  onBundleChange(listener: (bundle: SpiffeBundle) => void): () => void {
    this.#bundleListeners.add(listener);
    return () => {
      this.#bundleListeners.delete(listener);
    };
  }

  onIdentitiesChange(listener: () => void): () => void {
    this.#identityListeners.add(listener);
    return () => {
      this.#identityListeners.delete(listener);
    };
  }

  async validateJwtSvid(token: string, audience: string): Promise<ValidatedToken> {
    if (typeof audience !== 'string' || audience === '') {
      throw badRequest('audience', 'must be a non-empty string');
    }
    try {
      const svid = JwtSvid.parseAndValidate(String(token), this.#ca.bundle(), [audience], { now: this.#clock.now() });
      return { spiffeId: svid.id.toString(), claims: svid.claims };
    } catch (cause) {
      throw new ServerError('ERR_WID_SERVER_INVALID_JWT_SVID', `invalid JWT-SVID: ${(cause as Error).message}`, {
        trustDomain: this.trustDomain.name,
        cause,
      });
    }
  }
}

/**
 * The audience fields of a JWT `svid.issued` event: bounded whatever the caller asked for (an audit line per token
 * must not grow with the request), yet enough to audit — the count, the first few values, and a digest of the whole
 * list that matches the token's `aud` claim.
 */
function auditAudience(
  audience: readonly string[],
): Pick<AuditEvent, 'audience' | 'audienceCount' | 'audienceSha256' | 'audienceTruncated'> {
  let truncated = audience.length > AUDIT_MAX_AUDIENCES;
  const shown = audience.slice(0, AUDIT_MAX_AUDIENCES).map((a) => {
    if (a.length <= AUDIT_MAX_AUDIENCE_LENGTH) return a;
    const points = Array.from(a);
    if (points.length <= AUDIT_MAX_AUDIENCE_LENGTH) return a;
    truncated = true;
    return `${points.slice(0, AUDIT_MAX_AUDIENCE_LENGTH).join('')}…`;
  });
  return {
    audience: shown,
    audienceCount: audience.length,
    audienceSha256: createHash('sha256').update(JSON.stringify(audience)).digest('hex'),
    audienceTruncated: truncated,
  };
}

function toDenial(d: DenyDecision): IssuanceDenial {
  return Object.freeze({
    resource: d.resource,
    revision: d.revision,
    code: d.code,
    reason: d.reason,
    attribute: d.attribute,
    field: d.field,
    rule: d.rule,
  });
}
