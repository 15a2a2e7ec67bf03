import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

// Every `ERR_WID_*` code that appears in a package's src/ must be listed in an exported `*_ERROR_CODES` table (its
// own, or the owning package's when it recognises another package's code) with what the user should do, and every
// listed code must be in docs/errors.md. Regenerate the doc with `node scripts/gen-errors-doc.mjs` after `tsc -b`.
const root = fileURLToPath(new URL('..', import.meta.url));
const doc = readFileSync(join(root, 'docs', 'errors.md'), 'utf8');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const packages = readdirSync(join(root, 'packages')).filter((d) =>
  statSync(join(root, 'packages', d, 'src')).isDirectory(),
);
const tables = new Map<string, Set<string>>();

beforeAll(async () => {
  for (const dir of packages) {
    const mod = (await import(join(root, 'packages', dir, 'src', 'index.ts'))) as Record<string, unknown>;
    tables.set(
      dir,
      new Set(
        Object.entries(mod)
          .filter(([name, v]) => name.endsWith('_ERROR_CODES') && typeof v === 'object' && v !== null)
          .flatMap(([, table]) => Object.keys(table as object)),
      ),
    );
  }
});

describe('docs/errors.md', () => {
  it.each(packages)('lists every code used in packages/%s/src', (dir) => {
    const everyListed = new Set([...tables.values()].flatMap((s) => [...s]));
    for (const file of sourceFiles(join(root, 'packages', dir, 'src'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/['"`](ERR_WID_[A-Z0-9_]+)['"`]/g)) {
        expect(
          everyListed.has(m[1]!),
          `${m[1]} (used in ${file.slice(root.length)}) is in no *_ERROR_CODES table`,
        ).toBe(true);
      }
    }
    for (const code of tables.get(dir) ?? []) {
      expect(
        doc.includes(`\`${code}\``),
        `${code} is missing from docs/errors.md (run scripts/gen-errors-doc.mjs)`,
      ).toBe(true);
    }
  });
});
