import { loadWorkloadIdentities, type WorkloadIdentitySet } from '@wid/rule-engine';
import type { AuditEvent, ServerLogger, Timers } from '@wid/server';

export const RULES = `
kind: workload_identity
version: v1
metadata: { name: web, labels: { env: prod } }
spec:
  rules:
    allow:
      - expression: 'workload.unix.uid == 1000'
  spiffe:
    id: /team/{{workload.unix.gid}}/web
    hint: web
    x509: { dns_sans: ["web.example.org"], maximum_ttl: 2h }
    jwt: { maximum_ttl: 10m, extra_claims: { team: "{{workload.unix.gid}}" } }
---
kind: workload_identity
version: v1
metadata: { name: db, labels: { env: prod } }
spec:
  rules:
    allow:
      - expression: 'workload.unix.uid == 2000'
  spiffe:
    id: /db
`;

export function identities(text = RULES): WorkloadIdentitySet {
  return loadWorkloadIdentities(text, { trustDomain: 'example.org' });
}

export function unix(uid: number, gid = 10, pid = 4242) {
  return { workload: { unix: { attested: true, uid, gid, pid } } };
}

/** A clock plus timers driven only by advance(). */
export class FakeTime implements Timers {
  #now: number;
  #seq = 0;
  readonly #pending = new Map<number, { at: number; fn: () => void }>();

  constructor(start = Date.parse('2025-01-01T00:00:00Z')) {
    this.#now = start;
  }

  readonly clock = { now: () => new Date(this.#now) };

  setTimeout(fn: () => void, delayMs: number): unknown {
    const id = ++this.#seq;
    this.#pending.set(id, { at: this.#now + Math.max(0, delayMs), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#pending.delete(handle as number);
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  /** The due times of pending timers, ascending. */
  dueTimes(): number[] {
    return [...this.#pending.values()].map((t) => t.at).sort((a, b) => a - b);
  }

  nowMs(): number {
    return this.#now;
  }

  /** Moves time forward by `ms`, firing due timers in order (and settling promises between them). */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.#pending)
        if (entry[1].at <= end && (next === undefined || entry[1].at < next[1].at)) next = entry;
      if (next === undefined) break;
      this.#pending.delete(next[0]);
      this.#now = Math.max(this.#now, next[1].at);
      next[1].fn();
      await settle();
    }
    this.#now = end;
    await settle();
  }
}

export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}

export interface LogLine {
  level: string;
  obj: Record<string, unknown>;
  msg: string | undefined;
}

export function memoryLogger(): ServerLogger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: string) => (obj: object, msg?: string) => {
    lines.push({ level, obj: obj as Record<string, unknown>, msg });
  };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export function auditSink(): { events: AuditEvent[]; write(e: AuditEvent): void } {
  const events: AuditEvent[] = [];
  return { events, write: (e) => void events.push(e) };
}
