import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Runs scripts/build-addon.mjs on a copy of the package (scripts + src/native + the node-api-headers dependency),
// so the real package's build/ is left alone.
const pkgRoot = fileURLToPath(new URL('../', import.meta.url));
const platformDir = `${process.platform}-${process.arch}`;
let copy: string;

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [join(copy, 'scripts', 'build-addon.mjs'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function loads(file: string): boolean {
  const m = createRequire(import.meta.url)(file) as { peercred?: unknown; abi?: unknown };
  return typeof m.peercred === 'function' && m.abi === 1;
}

beforeAll(() => {
  copy = mkdtempSync(join(tmpdir(), 'wid-build-addon-'));
  cpSync(join(pkgRoot, 'scripts'), join(copy, 'scripts'), { recursive: true });
  cpSync(join(pkgRoot, 'src', 'native'), join(copy, 'src', 'native'), { recursive: true });
  const headers = dirname(createRequire(join(pkgRoot, 'package.json')).resolve('node-api-headers/package.json'));
  mkdirSync(join(copy, 'node_modules'));
  symlinkSync(realpathSync(headers), join(copy, 'node_modules', 'node-api-headers'));
});

afterAll(() => {
  rmSync(copy, { recursive: true, force: true });
});

describe('scripts/build-addon.mjs', () => {
  it('install mode compiles build/Release/peercred.node with cc and node-api-headers when there is no prebuild', () => {
    const r = run([]);
    expect(r.status).toBe(0);
    expect(r.out).toContain('prebuilt addon not usable (not present); compiling');
    expect(r.out).toContain('node-api-headers');
    const built = join(copy, 'build', 'Release', 'peercred.node');
    expect(loads(built)).toBe(true);
  });

  it('--prebuild writes prebuilds/<platform>-<arch>/peercred.node, which install mode then uses without compiling', () => {
    expect(run(['--prebuild']).status).toBe(0);
    expect(loads(join(copy, 'prebuilds', platformDir, 'peercred.node'))).toBe(true);
    rmSync(join(copy, 'build'), { recursive: true, force: true });
    const r = run([], { CC: 'false' }); // any compile would fail
    expect(r.status).toBe(0);
    expect(r.out).toContain('using the prebuilt addon');
    expect(existsSync(join(copy, 'build'))).toBe(false);
  });

  it('without a working compiler: install mode warns and exits 0, --force fails', () => {
    rmSync(join(copy, 'prebuilds'), { recursive: true, force: true });
    const soft = run([], { CC: 'false' });
    expect(soft.status).toBe(0);
    expect(soft.out).toContain('WARNING: could not build the peer-credentials addon');
    expect(soft.out).toContain('ERR_WID_ATTEST_UNIX_ADDON_MISSING');
    expect(existsSync(join(copy, 'build', 'Release', 'peercred.node'))).toBe(false);
    const strict = run(['--force'], { CC: 'false' });
    expect(strict.status).toBe(1);
    expect(strict.out).toContain('addon build failed');
  });

  it('the compiled addon reads peer credentials of a socketpair-like connection in a fresh node', () => {
    run([]);
    const out = execFileSync(
      process.execPath,
      [
        '-e',
        `const a = require(${JSON.stringify(join(copy, 'build', 'Release', 'peercred.node'))});
         const net = require('node:net');
         const path = require('node:path').join(${JSON.stringify(copy)}, 's.sock');
         const srv = net.createServer((s) => {
           const out = new Int32Array(4);
           const rc = a.peercred(s._handle.fd, out, false);
           console.log(JSON.stringify([rc, out[0] === process.pid, out[1] === process.getuid()]));
           s.destroy(); srv.close(); c.destroy();
         }).listen(path);
         const c = net.connect(path);`,
      ],
      { encoding: 'utf8' },
    );
    expect(JSON.parse(out)).toEqual([0, true, true]);
  });
});
