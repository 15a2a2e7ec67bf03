import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests import sibling packages from source, so a change in one package is seen by the
// others' tests without a rebuild. `pnpm test` still runs `tsc -b` first, which type-checks
// the built output that users install.
const packagesDir = fileURLToPath(new URL('./packages/', import.meta.url));
const alias = readdirSync(packagesDir).flatMap((dir) => [
  { find: new RegExp(`^@wid/${dir}/testing$`), replacement: `${packagesDir}${dir}/src/testing/index.ts` },
  { find: new RegExp(`^@wid/${dir}$`), replacement: `${packagesDir}${dir}/src/index.ts` },
]);

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts', 'interop/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
