// The agent Quick start: start wid-agent standalone with ./agent.yaml, fetch and verify an SVID from its Workload API
// with `wid-agent spiffe-inspect`, then stop the agent with SIGTERM. Run it with `corepack pnpm demo:agent` (which
// builds first), or `node examples/agent-standalone/demo.mjs` after `tsc -b`.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', '..', 'packages', 'agent', 'dist', 'cli.js');
const config = join(here, 'agent.yaml');
// The socket path of agent.yaml (`listen: unix:.wid/run/agent.sock`) resolves against the config file's directory.
const socket = `unix://${join(here, '.wid', 'run', 'agent.sock')}`;

function fail(message) {
  console.error(`demo: ${message}`);
  process.exit(1);
}

try {
  readFileSync(cli);
} catch {
  fail(`${cli} is missing: build first (corepack pnpm build)`);
}

console.log(`$ wid-agent start -c ${config}   (in the background)`);
const agent = spawn(process.execPath, [cli, 'start', '-c', config, '--log-format', 'text'], {
  stdio: ['ignore', 'inherit', 'pipe'],
});
let agentExited = false;
const agentExit = new Promise((resolve) => {
  agent.on('exit', (code, signal) => {
    agentExited = true;
    resolve({ code, signal });
  });
});

const ready = new Promise((resolve, reject) => {
  let buffered = '';
  agent.stderr.setEncoding('utf8');
  agent.stderr.on('data', (chunk) => {
    buffered += chunk;
    let nl = buffered.indexOf('\n');
    while (nl !== -1) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      process.stdout.write(`  [agent] ${line}\n`);
      if (/ INFO {2}ready\b/.test(line)) resolve();
      nl = buffered.indexOf('\n');
    }
  });
  agentExit.then(({ code }) => reject(new Error(`the agent exited (code ${code}) before it was ready`)));
  setTimeout(() => reject(new Error('the agent was not ready within 30 s')), 30_000).unref();
});

try {
  await ready;
} catch (error) {
  if (!agentExited) agent.kill('SIGTERM');
  fail(error.message);
}

console.log(`\n$ wid-agent spiffe-inspect --path ${socket} --audience demo`);
const inspect = spawn(process.execPath, [cli, 'spiffe-inspect', '--path', socket, '--audience', 'demo'], {
  stdio: 'inherit',
});
const inspectCode = await new Promise((resolve) => inspect.on('exit', (code) => resolve(code ?? 1)));

console.log('\n$ kill -TERM <agent>');
agent.kill('SIGTERM');
const stopped = await Promise.race([
  agentExit,
  new Promise((resolve) => setTimeout(() => resolve(undefined), 10_000).unref()),
]);
if (stopped === undefined) {
  agent.kill('SIGKILL');
  fail('the agent did not stop within 10 s of SIGTERM');
}
if (inspectCode !== 0) fail(`spiffe-inspect failed (exit code ${inspectCode})`);
if (stopped.code !== 0) fail(`the agent exited with code ${stopped.code} after SIGTERM`);
console.log('\ndemo: OK — the agent issued an X.509-SVID and a JWT-SVID that verify against its trust bundle.');
