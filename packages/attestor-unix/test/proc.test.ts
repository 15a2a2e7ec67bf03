import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UnixAttestorError } from '../src/errors.js';
import { parseStat, parseStatus } from '../src/internal/proc.js';

interface Case {
  name: string;
  content: string;
  expect?: Record<string, unknown>;
  code?: string;
  says?: string;
  line?: string;
}
const cases = JSON.parse(readFileSync(new URL('./fixtures/proc-cases.json', import.meta.url), 'utf8')) as {
  status: Case[];
  stat: Case[];
};

function run(parse: () => unknown, c: Case, file: string): void {
  if (c.expect) {
    expect(parse()).toEqual(c.expect);
    return;
  }
  let error: unknown;
  try {
    parse();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(UnixAttestorError);
  const e = error as UnixAttestorError;
  expect(e.code).toBe(c.code);
  expect(e.pid).toBe(4242);
  expect(e.file).toBe(file);
  expect(e.message).toContain(c.says);
  expect(e.message).toContain(file);
  if (c.line !== undefined) expect(e.line).toBe(c.line);
}

describe('parseStatus (/proc/<pid>/status)', () => {
  it.each(cases.status.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    run(() => parseStatus(c.content, 4242, '/proc/4242/status'), c, '/proc/4242/status');
  });
});

describe('parseStat (/proc/<pid>/stat)', () => {
  it.each(cases.stat.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    run(() => parseStat(c.content, 4242, '/proc/4242/stat'), c, '/proc/4242/stat');
  });

  it('reads the real /proc/self/stat of this process', () => {
    const st = parseStat(readFileSync('/proc/self/stat', 'latin1'), process.pid, '/proc/self/stat');
    expect(st.state).toMatch(/^[RS]$/);
    expect(Number(st.startTime)).toBeGreaterThan(0);
  });
});

describe('parseStatus on the real /proc/self/status', () => {
  it('returns the effective IDs of this process', () => {
    const st = parseStatus(readFileSync('/proc/self/status', 'latin1'), process.pid, '/proc/self/status');
    expect(st.uid).toBe(process.geteuid?.());
    expect(st.gid).toBe(process.getegid?.());
    // Node's getgroups() may add the effective GID to the kernel's supplementary list.
    const nodeGroups = process.getgroups?.() ?? [];
    for (const g of st.groups) expect(nodeGroups).toContain(g);
    for (const g of nodeGroups) if (g !== st.gid) expect(st.groups).toContain(g);
  });
});
