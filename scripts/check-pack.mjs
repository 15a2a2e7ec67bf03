// Proves each published package works on its own: `pnpm pack` every package (workspace:^ becomes a real version
// range), then for each one install ONLY its tarball into an empty directory with npm (third-party deps from the
// registry; sibling @wid packages from their tarballs via overrides, since they are not published yet), and
// import it with plain Node. Fails if any export map, `files` list or dependency declaration is wrong.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'wid-pack-'));
const tarballs = join(work, 'tarballs');
mkdirSync(tarballs);
const pnpm = ['pnpm'];
const env = { ...process.env, COREPACK_INTEGRITY_KEYS: '0' };

const packages = readdirSync(join(root, 'packages'))
  .map((dir) => ({ dir, pkg: JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')) }))
  .filter(({ pkg }) => !pkg.private);

const tarballOf = new Map();
for (const { dir, pkg } of packages) {
  const out = execFileSync('corepack', [...pnpm, 'pack', '--pack-destination', tarballs], {
    cwd: join(root, 'packages', dir),
    env,
    encoding: 'utf8',
  });
  const file = out
    .trim()
    .split('\n')
    .filter((l) => l.endsWith('.tgz'))
    .pop();
  if (!file) throw new Error(`pnpm pack printed no tarball for ${pkg.name}:\n${out}`);
  tarballOf.set(pkg.name, file.startsWith('/') ? file : join(tarballs, file));
}

let failed = 0;
for (const { pkg } of packages) {
  const dir = join(work, pkg.name.replace('/', '__'));
  mkdirSync(dir);
  // npm refuses an override of the package being installed itself (EOVERRIDE), so override only its siblings.
  const overrides = Object.fromEntries(
    [...tarballOf].filter(([name]) => name !== pkg.name).map(([name, file]) => [name, `file:${file}`]),
  );
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'pack-check', private: true, type: 'module', overrides }, null, 2),
  );
  try {
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', tarballOf.get(pkg.name)], {
      cwd: dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const names = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(pkg.name)}); console.log(Object.keys(m).join(','))`,
      ],
      { cwd: dir, encoding: 'utf8' },
    ).trim();
    if (!names) throw new Error('the package exports nothing');
    // Commands a package ships must start from the installed tarball too.
    const bins = Object.keys(typeof pkg.bin === 'string' ? { [pkg.name.split('/').pop()]: pkg.bin } : (pkg.bin ?? {}));
    for (const bin of bins)
      execFileSync(join(dir, 'node_modules', '.bin', bin), ['--help'], { cwd: dir, stdio: 'pipe' });
    console.log(
      `ok   ${pkg.name}: ${names.split(',').length} exports${bins.length ? `, ${bins.join(', ')} --help runs` : ''}`,
    );
  } catch (e) {
    failed++;
    console.error(`FAIL ${pkg.name}: ${e.stderr?.toString() || e.message}`);
  }
}
rmSync(work, { recursive: true, force: true });
console.log(`${packages.length - failed} packages install and import, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
