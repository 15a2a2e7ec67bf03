#!/usr/bin/env node
// wid-agent's entry point: the only file that reads process.argv / process.env and sets the exit code.
import { fileURLToPath } from 'node:url';
import { runCli } from './internal/cli-main.js';

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  self: [process.execPath, fileURLToPath(import.meta.url)],
  onSignal(signal, handler) {
    process.on(signal, handler);
    return () => process.off(signal, handler);
  },
});
process.exitCode = code;
// Anything still holding the event loop after a clean stop (a stray timer) must not keep the process alive.
setTimeout(() => process.exit(code), 3000).unref();
