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
  readonly audience?: readonly string[];
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
