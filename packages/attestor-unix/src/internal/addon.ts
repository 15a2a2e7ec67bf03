import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { UnixAttestorError } from '../errors.js';

/** The JS face of src/native/peercred.c. */
export interface PeercredAddon {
  /** Fills `out` = [pid, uid, gid, pidfd | -errno]; returns 0 or the errno of SO_PEERCRED. */
  peercred(fd: number, out: Int32Array, wantPidfd: boolean): number;
  /** 0 while the process runs, 1 once it exited, or -errno. */
  pidfdExited(pidfd: number): number;
  readonly abi: number;
}

/** Must equal WID_PEERCRED_ABI in peercred.c: a stale build/ from an older source is refused, not half-used. */
const ABI = 1;

/** build/ (compiled on this machine) first, then the prebuild shipped in the npm tarball. */
export function defaultAddonPaths(): string[] {
  // This file is src/internal/addon.ts or dist/internal/addon.js: the package root is two levels up either way.
  const root = fileURLToPath(new URL('../../', import.meta.url));
  return [`${root}build/Release/peercred.node`, `${root}prebuilds/${process.platform}-${process.arch}/peercred.node`];
}

// dlopen is per process anyway; remembering the loaded module per path only skips require()'s resolution.
const loaded = new Map<string, PeercredAddon>();
let defaultAddon: PeercredAddon | undefined;

function tryLoad(path: string): PeercredAddon | string {
  const hit = loaded.get(path);
  if (hit) return hit;
  let mod: Partial<PeercredAddon>;
  try {
    mod = createRequire(import.meta.url)(path) as Partial<PeercredAddon>;
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'MODULE_NOT_FOUND') return 'not present';
    return e instanceof Error ? e.message.split('\n')[0]! : String(e);
  }
  if (typeof mod.peercred !== 'function' || typeof mod.pidfdExited !== 'function') return 'exports are missing';
  if (mod.abi !== ABI) return `built from an older source (addon ABI ${String(mod.abi)}, expected ${ABI})`;
  const addon = mod as PeercredAddon;
  loaded.set(path, addon);
  return addon;
}

/**
 * Loads the addon from `addonPath`, or from build/ then prebuilds/. Never guesses: if none loads, throws
 * ERR_WID_ATTEST_UNIX_ADDON_MISSING listing each path and why it failed.
 */
export function loadAddon(addonPath?: string): PeercredAddon {
  // The hot path (standalone readPeerCredentials per connection) must not rebuild paths on every call.
  if (addonPath === undefined && defaultAddon !== undefined) return defaultAddon;
  const paths = addonPath === undefined ? defaultAddonPaths() : [addonPath];
  const tried: string[] = [];
  for (const path of paths) {
    const r = tryLoad(path);
    if (typeof r !== 'string') {
      if (addonPath === undefined) defaultAddon = r;
      return r;
    }
    tried.push(`${path}: ${r}`);
  }
  throw new UnixAttestorError(
    'ERR_WID_ATTEST_UNIX_ADDON_MISSING',
    `the peer-credentials addon of @wid/attestor-unix is not available (tried ${tried.join('; ')}). ` +
      'Build it with a C compiler, no download needed: `npm rebuild @wid/attestor-unix`, or in the wid repo ' +
      '`pnpm --filter @wid/attestor-unix build:addon`' +
      (process.platform === 'linux' ? '' : ` (peer credentials need Linux; this is ${process.platform})`),
    { tried },
  );
}
