import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Every `ERR_WID_*` code that appears in a package's src/ must be listed in that package's exported `*_ERROR_CODES`
// table (with what the user should do) and in docs/errors.md. Regenerate the doc with scripts/gen-errors-doc.mjs.
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

describe('docs/errors.md', () => {
  it.each(packages)('lists every code used in packages/%s/src', async (dir) => {
    const used = new Set<string>();
    for (const file of sourceFiles(join(root, 'packages', dir, 'src'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/['"`](ERR_WID_[A-Z0-9_]+)['"`]/g)) used.add(m[1]!);
    }
    const mod = (await import(join(root, 'packages', dir, 'src', 'index.ts'))) as Record<string, unknown>;
    const listed = new Set(
      Object.entries(mod)
        .filter(([name, v]) => name.endsWith('_ERROR_CODES') && typeof v === 'object' && v !== null)
        .flatMap(([, table]) => Object.keys(table as object)),
    );
    for (const code of used) {
      expect(listed.has(code), `${code} (used in packages/${dir}/src) is missing from its *_ERROR_CODES table`).toBe(
        true,
      );
    }
    for (const code of listed) {
      expect(
        doc.includes(`\`${code}\``),
        `${code} is missing from docs/errors.md (run scripts/gen-errors-doc.mjs)`,
      ).toBe(true);
    }
  });
});
