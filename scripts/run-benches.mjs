// `pnpm bench`: builds the workspace, then runs every benchmark script (bench/**/*.bench.mjs and
// packages/*/bench/*.bench.mjs) one after another, so they don't compete for the two cores.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const only = process.argv[2];

function find(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : find(p);
    return e.name.endsWith('.bench.mjs') ? [p] : [];
  });
}

const files = [
  ...find(join(root, 'bench')),
  ...readdirSync(join(root, 'packages')).flatMap((p) => find(join(root, 'packages', p, 'bench'))),
].filter((f) => !only || f.includes(only));

const build = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b', 'tsconfig.json'], {
  cwd: root,
  stdio: 'inherit',
});
if (build.status !== 0) process.exit(build.status ?? 1);

let failed = 0;
for (const file of files) {
  console.log(`\n## ${relative(root, file)}`);
  // A benchmark that hangs (e.g. a runtime deadlock) must fail the run, not stall it: kill it after 5 minutes.
  const r = spawnSync(process.execPath, ['--expose-gc', file], {
    cwd: root,
    stdio: 'inherit',
    env: process.env,
    timeout: 300_000,
    killSignal: 'SIGKILL',
  });
  if (r.status !== 0) {
    failed++;
    console.error(`benchmark failed: ${relative(root, file)} (exit ${r.status ?? r.signal})`);
  }
}
console.log(`\n${files.length - failed} benchmarks ran, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
