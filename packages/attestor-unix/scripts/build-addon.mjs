#!/usr/bin/env node
// Builds the peer-credentials addon of @wid/attestor-unix with the C compiler alone: no node-gyp, no Python, no
// download of Node headers. The Node-API headers come from the node-api-headers package (a dependency), or from the
// running Node's own include/node directory; the napi_* symbols resolve from the node executable at load time.
//
//   node scripts/build-addon.mjs             install mode (the package's `install` script): if the shipped prebuild
//                                            prebuilds/linux-<arch>/peercred.node loads, do nothing; otherwise compile
//                                            build/Release/peercred.node. A failed build only warns (the package then
//                                            throws ERR_WID_ATTEST_UNIX_ADDON_MISSING when peer credentials are read).
//   node scripts/build-addon.mjs --force     always compile build/Release/peercred.node; fail on any error
//   node scripts/build-addon.mjs --prebuild  compile prebuilds/linux-<arch>/peercred.node for the npm tarball (prepack)
//
// Environment: CC (default `cc`), CFLAGS (extra flags, split on spaces).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgRoot = fileURLToPath(new URL('..', import.meta.url));
const source = join(pkgRoot, 'src', 'native', 'peercred.c');
const prebuild = join(pkgRoot, 'prebuilds', `${process.platform}-${process.arch}`, 'peercred.node');
const local = join(pkgRoot, 'build', 'Release', 'peercred.node');
const require = createRequire(import.meta.url);
const args = new Set(process.argv.slice(2));
const mode = args.has('--prebuild') ? 'prebuild' : args.has('--force') ? 'force' : 'install';
const strict = mode !== 'install';

function log(msg) {
  console.log(`@wid/attestor-unix: ${msg}`);
}

function expectedAbi() {
  const m = /#define WID_PEERCRED_ABI (\d+)/.exec(readFileSync(source, 'utf8'));
  if (!m) throw new Error(`${source} has no WID_PEERCRED_ABI define`);
  return Number(m[1]);
}

/** Returns undefined when `file` loads as a current peercred addon, else why not. */
function loadProblem(file, abi) {
  if (!existsSync(file)) return 'not present';
  try {
    const m = require(file);
    if (typeof m.peercred !== 'function' || typeof m.pidfdExited !== 'function') return 'exports are missing';
    if (m.abi !== abi) return `built for addon ABI ${m.abi}, the source is ABI ${abi}`;
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

function headerDir() {
  try {
    const dir = require('node-api-headers').include_dir;
    if (typeof dir === 'string' && existsSync(join(dir, 'node_api.h'))) return dir;
  } catch {
    // fall through to the running Node's own headers
  }
  const own = join(dirname(dirname(process.execPath)), 'include', 'node');
  if (existsSync(join(own, 'node_api.h'))) return own;
  throw new Error(
    'no Node-API headers: the node-api-headers package is not installed and the running Node has no include/node',
  );
}

function compile(out) {
  const cc = (process.env.CC || 'cc').split(/\s+/).filter(Boolean);
  const extra = (process.env.CFLAGS || '').split(/\s+/).filter(Boolean);
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  const argv = [
    ...cc.slice(1),
    '-O2',
    '-shared',
    '-fPIC',
    '-Wall',
    '-Wextra',
    '-Wno-unused-parameter',
    '-fvisibility=hidden',
    ...extra,
    `-I${headerDir()}`,
    source,
    '-o',
    tmp,
  ];
  log(`${cc[0]} ${argv.join(' ')}`);
  try {
    execFileSync(cc[0], argv, { stdio: 'inherit' });
    renameSync(tmp, out);
  } finally {
    rmSync(tmp, { force: true });
  }
}

function main() {
  if (process.platform !== 'linux') {
    const msg = `peer credentials are read with Linux's SO_PEERCRED; nothing to build on ${process.platform}`;
    if (strict) throw new Error(msg);
    log(msg);
    return;
  }
  const abi = expectedAbi();
  if (mode === 'install') {
    const problem = loadProblem(prebuild, abi);
    if (problem === undefined) {
      log(`using the prebuilt addon ${prebuild}`);
      return;
    }
    log(`prebuilt addon not usable (${problem}); compiling`);
  }
  const out = mode === 'prebuild' ? prebuild : local;
  compile(out);
  const problem = loadProblem(out, abi);
  if (problem !== undefined) throw new Error(`the addon built at ${out} does not load: ${problem}`);
  log(`built ${out}`);
}

try {
  main();
} catch (e) {
  const msg = e instanceof Error ? e.message : String(e);
  if (strict) {
    console.error(`@wid/attestor-unix: addon build failed: ${msg}`);
    process.exit(1);
  }
  console.warn(
    `@wid/attestor-unix: WARNING: could not build the peer-credentials addon (${msg}). Reading peer credentials ` +
      'will throw ERR_WID_ATTEST_UNIX_ADDON_MISSING until it is built: install a C compiler (cc) and run ' +
      '`npm rebuild @wid/attestor-unix`.',
  );
}
