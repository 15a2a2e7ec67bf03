/**
 * Audit events list at most this many audiences of a JWT-SVID (`audienceCount` and `audienceSha256` cover the rest).
 *
 * @example
 * if (event.audienceCount! > AUDIT_MAX_AUDIENCES) console.log('audience list shortened');
 */
export const AUDIT_MAX_AUDIENCES = 8;

/**
 * Audit events cut each listed audience to this many characters (code points), marking the cut with a trailing `…`.
 *
 * @example
 * const shown = aud.length > AUDIT_MAX_AUDIENCE_LENGTH ? `${aud.slice(0, AUDIT_MAX_AUDIENCE_LENGTH)}…` : aud;
 */
export const AUDIT_MAX_AUDIENCE_LENGTH = 256;

/**
 * One audit event: a credential issued or denied. Written as one JSON line to the logger (`msg: 'audit'`) and to
 * the optional {@link AuditSink}. Never carries key material or tokens.
 *
 * @example
 * const event: AuditEvent = {
 *   type: 'svid.issued', svidType: 'x509', at: '2025-01-01T00:00:00.000Z', spiffeId: 'spiffe://example.org/web',
 *   serialNumber: '5f1c…', hint: 'web', resource: 'web', revision: 'a1b2', attributes: { workload: { unix: { uid: 1000 } } },
 * };
 */
export interface AuditEvent {
  /** `svid.issued`, or `svid.denied` (one per denied resource). */
  readonly type: 'svid.issued' | 'svid.denied';
  readonly svidType: 'x509' | 'jwt';
  /** ISO time of the event (from the service's clock). */
  readonly at: string;
  /** The resource (`metadata.name`) that granted or denied. */
  readonly resource: string;
  readonly revision: string | undefined;
  /** The SPIFFE ID issued (issued events). */
  readonly spiffeId?: string;
  readonly hint?: string;
  /** Hex serial of the X.509-SVID. */
  readonly serialNumber?: string;
  /** `jti` of the JWT-SVID. */
  readonly jti?: string;
  /**
   * The JWT-SVID's audiences, bounded: at most the first {@link AUDIT_MAX_AUDIENCES} (8), each cut to
   * {@link AUDIT_MAX_AUDIENCE_LENGTH} (256) characters plus `…`. See `audienceCount` and `audienceSha256` for the whole list.
   */
  readonly audience?: readonly string[];
  /** How many audiences the JWT-SVID has (its `aud` claim). */
  readonly audienceCount?: number;
  /**
   * Hex SHA-256 of the JSON array of all the JWT-SVID's audiences in `aud` order (`JSON.stringify(aud)`): identifies
   * the full list when `audience` shows only part of it.
   */
  readonly audienceSha256?: string;
  /** `true` when `audience` leaves out or shortens any audience. */
  readonly audienceTruncated?: boolean;
  readonly dnsSans?: readonly string[];
  readonly ttlSeconds?: number;
  readonly expiresAt?: string;
  /** Denial code (denied events), from @wid/rule-engine's DENIAL_CODES. */
  readonly code?: string;
  readonly reason?: string;
  /** The full attribute tree the decision was made on (`workload.*`, `join.*`, `user.*`). */
  readonly attributes: Readonly<Record<string, unknown>>;
}

/**
 * Where audit events go besides the logger (a file, a queue, a test array). A sink that throws or rejects is
 * logged and does not fail issuance.
 *
 * @example
 * const events: AuditEvent[] = [];
 * const auditSink: AuditSink = { write: (e) => { events.push(e) } };
 */
export interface AuditSink {
  write(event: AuditEvent): void | Promise<void>;
}
