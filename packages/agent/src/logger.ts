import type { Logger } from '@wid/spiffe-id';
import { pino } from 'pino';

/** A pino-compatible logger (what every wid component takes): the shared seam of @wid/spiffe-id. */
export type AgentLogger = Logger;

/** Where log lines go: anything with `write(string)` (a stream such as `process.stderr`). */
export interface LogDestination {
  write(chunk: string): unknown;
}

/** Options of {@link createAgentLogger}. */
export interface AgentLoggerOptions {
  /** `json`: one pino JSON object per line. `text`: `HH:MM:SS.mmm LEVEL message key=value ...`. Default `text`. */
  readonly format?: 'json' | 'text';
  /** Lowest level written: `debug`, `info`, `warn` or `error`. Default `info`. */
  readonly level?: 'debug' | 'info' | 'warn' | 'error';
  /** Where lines go. Required (the CLI passes `process.stderr`). */
  readonly destination: LogDestination;
}

const LEVEL_NAMES: Readonly<Record<number, string>> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const OMIT = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

function flatten(prefix: string, value: unknown, out: string[], depth: number): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && depth < 6) {
    const entries = Object.entries(value);
    if (entries.length === 0) out.push(`${prefix}={}`);
    for (const [k, v] of entries) flatten(prefix === '' ? k : `${prefix}.${k}`, v, out, depth + 1);
    return;
  }
  const text =
    typeof value === 'string' ? (/^[^\s"=]+$/.test(value) ? value : JSON.stringify(value)) : JSON.stringify(value);
  out.push(`${prefix}=${text}`);
}

/**
 * Formats one pino JSON line as text: `12:00:00.000 INFO issued x509-svid spiffe_id=spiffe://... workload.unix.uid=1000`.
 * Nested objects are flattened to dotted keys; an `err` object shows its message (and code).
 *
 * @example
 * formatLogLine('{"level":30,"time":0,"msg":"started"}'); // '00:00:00.000 INFO  started\n'
 */
export function formatLogLine(line: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const time = typeof rec['time'] === 'number' ? new Date(rec['time']).toISOString().slice(11, 23) : '';
  const level = (LEVEL_NAMES[rec['level'] as number] ?? String(rec['level'])).padEnd(5);
  const parts: string[] = [];
  for (const [k, v] of Object.entries(rec)) {
    if (OMIT.has(k)) continue;
    if (k === 'err' && v !== null && typeof v === 'object') {
      const e = v as { message?: unknown; code?: unknown };
      parts.push(`err=${JSON.stringify(e.message ?? '')}${typeof e.code === 'string' ? ` code=${e.code}` : ''}`);
      continue;
    }
    flatten(k, v, parts, 0);
  }
  const msg = typeof rec['msg'] === 'string' ? rec['msg'] : '';
  return `${time} ${level} ${msg}${parts.length > 0 ? ` ${parts.join(' ')}` : ''}\n`;
}

/**
 * Creates the agent's pino logger writing JSON lines, or text lines through {@link formatLogLine} (no pino-pretty).
 *
 * @example
 * const logger = createAgentLogger({ format: 'text', destination: process.stderr });
 * logger.info({ listen: 'unix:///run/wid/agent.sock' }, 'listening');
 */
export function createAgentLogger(options: AgentLoggerOptions): AgentLogger {
  const dest = options.destination;
  const stream =
    options.format === 'json'
      ? { write: (s: string) => dest.write(s) }
      : {
          write: (s: string) => {
            // pino writes one complete line per call.
            dest.write(formatLogLine(s.endsWith('\n') ? s.slice(0, -1) : s));
          },
        };
  return pino({ level: options.level ?? 'info', base: undefined }, stream);
}
