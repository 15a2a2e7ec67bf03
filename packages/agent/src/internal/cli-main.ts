// The wid-agent command line, with every process-level thing (argv, env, streams, signals, exit) injected, so the
// entry file src/cli.ts is the only place that touches `process`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createAgent } from '../agent.js';
import type { AgentConfig } from '../config.js';
import { loadAgentConfig } from '../config-file.js';
import { AgentError } from '../errors.js';
import { explainProcess } from '../explain-process.js';
import { formatInspectReport, inspectWorkloadApi } from '../inspect.js';
import { type AgentLogger, createAgentLogger } from '../logger.js';
import { renderSystemdUnit } from '../systemd-unit.js';

export interface CliIo {
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { write(s: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Command that runs this CLI (`[node, /abs/dist/cli.js]`), for `install systemd`. */
  readonly self: readonly string[];
  /** Subscribes to a process signal; returns the unsubscribe function. */
  onSignal(signal: 'SIGTERM' | 'SIGINT' | 'SIGHUP', handler: () => void): () => void;
}

const MAIN_HELP = `wid-agent: SPIFFE workload identity agent (tbot-style configuration, standalone issuance)

Usage: wid-agent <command> [options]

Commands:
  start -c <file>              run the agent (Workload API sockets, local CA)
  spiffe-inspect --path <addr> fetch, verify and print what a Workload API serves
  explain -c <file> --pid <n>  attest a process and explain which identities it gets, and why
  install systemd              print (or --write) a systemd unit for the agent

Run \`wid-agent <command> --help\` for the options of a command.
`;

const HELP: Record<string, string> = {
  start: `Usage: wid-agent start -c <file> [--log-format json|text] [--log-level debug|info|warn|error]

Runs the agent with the configuration <file> (tbot v2 YAML plus trust_domain and workload_identities).
The whole configuration is validated before anything is opened.

Signals: SIGTERM / SIGINT close the sockets and exit 0; SIGHUP reloads the configuration (a bad new
configuration is logged and rejected, the running one keeps serving).

Options:
  -c, --config <file>     configuration file (required)
      --log-format <fmt>  json (one pino object per line) or text (default text)
      --log-level <lvl>   debug, info, warn or error (default info)
  -h, --help              show this help
`,
  'spiffe-inspect': `Usage: wid-agent spiffe-inspect [--path <addr>] [--audience <aud>]... [--timeout <seconds>]

Fetches X.509-SVIDs, trust bundles, JWT bundles and (per --audience) JWT-SVIDs from a Workload API,
verifies every SVID against the served bundles, and prints them. Exits non-zero if anything fails.

Options:
      --path <addr>       Workload API address: unix:///abs/path.sock or tcp://ip:port
                          (default: $SPIFFE_ENDPOINT_SOCKET)
      --audience <aud>    also fetch and validate JWT-SVIDs for this audience (repeatable)
      --timeout <seconds> give up after this long (default 10)
      --json              print the report as JSON
  -h, --help              show this help
`,
  explain: `Usage: wid-agent explain -c <file> --pid <pid> [--service <n>]

Attests the process <pid> with the attestors of each service of the configuration (as the agent would
for a caller of that socket) and prints, per workload identity and rule, why it does or does not get
an identity. Run it as the agent's user so it can read the process's /proc entry.

Options:
  -c, --config <file>  configuration file (required)
      --pid <pid>      the process to explain (required)
      --service <n>    only services[n]
  -h, --help           show this help
`,
  install: `Usage: wid-agent install systemd [--write] [--unit-path <file>] [--user <u>] [--group <g>] [--config <file>]

Prints a systemd unit that runs \`wid-agent start\`, or writes it with --write.

Options:
      --user <u>          user the service runs as (default wid)
      --group <g>         group the service runs as (default: the user)
      --config <file>     configuration path in the unit (default /etc/wid/agent.yaml)
      --write             write the unit instead of printing it
      --unit-path <file>  where --write puts it (default /etc/systemd/system/wid-agent.service)
  -h, --help              show this help
`,
};

function usage(message: string): AgentError {
  return new AgentError('ERR_WID_AGENT_USAGE', message);
}

function parse(
  command: string,
  args: readonly string[],
  options: NonNullable<Parameters<typeof parseArgs>[0]>['options'],
  positionals = false,
): { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] } {
  try {
    return parseArgs({
      args: [...args],
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: positionals,
      strict: true,
    }) as { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] };
  } catch (cause) {
    throw usage(`${command}: ${(cause as Error).message.split('\n')[0]}`);
  }
}

function oneLine(error: unknown): string {
  const e = error as { message?: unknown; code?: unknown };
  const msg = typeof e?.message === 'string' ? e.message : String(error);
  const first = msg.split('\n')[0] ?? msg;
  return typeof e?.code === 'string' && e.code.startsWith('ERR_WID_') ? `${first} [${e.code}]` : first;
}

async function cmdStart(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parse('start', args, {
    config: { type: 'string', short: 'c' },
    'log-format': { type: 'string' },
    'log-level': { type: 'string' },
  });
  if (values['help'] === true) {
    io.stdout.write(HELP['start']!);
    return 0;
  }
  const file = values['config'];
  if (typeof file !== 'string') throw usage('start: -c <file> is required');
  const format = values['log-format'] ?? 'text';
  if (format !== 'json' && format !== 'text')
    throw usage(`start: --log-format must be json or text, got ${JSON.stringify(format)}`);
  const level = values['log-level'] ?? 'info';
  if (level !== 'debug' && level !== 'info' && level !== 'warn' && level !== 'error') {
    throw usage(`start: --log-level must be debug, info, warn or error, got ${JSON.stringify(level)}`);
  }
  const path = resolve(io.cwd, file);
  const config = loadAgentConfig(path);
  const logger: AgentLogger = createAgentLogger({ format, level, destination: io.stderr });
  const agent = createAgent(config, { logger, env: io.env });
  await agent.start();

  return await new Promise<number>((done, fail) => {
    // The sockets must not be what keeps the process alive: it runs until it is told to stop (or has nothing left
    // to serve), so that `agent.close()` always runs and writes the CA state.
    const keepAlive = setInterval(() => {}, 1 << 30);
    let stopping = false;
    const finish = (settle: () => void) => {
      clearInterval(keepAlive);
      for (const off of unsubscribe) off();
      settle();
    };
    const stop = (signal: string, failure?: AgentError) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'stopping');
      // The handlers stay installed until the agent is closed: a second SIGTERM must not kill the process midway.
      agent.close().then(
        () => finish(() => (failure === undefined ? done(0) : fail(failure))),
        (error: unknown) => {
          logger.error({ err: error }, 'error while stopping');
          finish(() => (failure === undefined ? done(1) : fail(failure)));
        },
      );
    };
    const reload = () => {
      if (stopping) return;
      logger.info({ config: path }, 'SIGHUP: reloading the configuration');
      let next: AgentConfig;
      try {
        next = loadAgentConfig(path);
      } catch (error) {
        logger.error(
          {
            err: error,
            code: (error as AgentError).code,
            key: (error as AgentError).key,
            line: (error as AgentError).line,
          },
          'the new configuration is invalid; the running configuration keeps serving',
        );
        return;
      }
      const before = agent.listening;
      agent.reload(next).catch((error: unknown) => {
        const after = agent.listening;
        const lost = before.filter((address) => !after.includes(address));
        if (lost.length === 0) {
          logger.error(
            { err: error, code: (error as AgentError).code },
            'reload failed; the running configuration keeps serving',
          );
          return;
        }
        logger.error(
          { err: error, code: (error as AgentError).code, closed: lost, listening: after },
          'reload failed and sockets of the running configuration could not be reopened',
        );
        if (after.length === 0) {
          stop(
            'reload-failed',
            new AgentError(
              'ERR_WID_AGENT_START_FAILED',
              `no Workload API socket is left running after a failed reload (${lost.join(', ')}): ${oneLine(error)}`,
              { cause: error },
            ),
          );
        }
      });
    };
    const unsubscribe = [
      io.onSignal('SIGTERM', () => stop('SIGTERM')),
      io.onSignal('SIGINT', () => stop('SIGINT')),
      io.onSignal('SIGHUP', reload),
    ];
    // Only now: a supervisor may signal the agent as soon as it reads this line.
    logger.info({ config: path }, 'ready');
  });
}

async function cmdInspect(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parse('spiffe-inspect', args, {
    path: { type: 'string' },
    audience: { type: 'string', multiple: true },
    timeout: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values['help'] === true) {
    io.stdout.write(HELP['spiffe-inspect']!);
    return 0;
  }
  const address = (values['path'] as string | undefined) ?? io.env['SPIFFE_ENDPOINT_SOCKET'];
  if (address === undefined || address === '') {
    throw usage('spiffe-inspect: give --path <addr> or set SPIFFE_ENDPOINT_SOCKET');
  }
  const timeout = Number(values['timeout'] ?? '10');
  if (!(timeout > 0) || !Number.isFinite(timeout))
    throw usage('spiffe-inspect: --timeout must be a positive number of seconds');
  const audiences = (values['audience'] as string[] | undefined) ?? [];
  const report = await inspectWorkloadApi({ address, audiences, signal: AbortSignal.timeout(timeout * 1000) });
  io.stdout.write(
    values['json'] === true ? `${JSON.stringify(report, null, 2)}\n` : `${formatInspectReport(report)}\n`,
  );
  return 0;
}

async function cmdExplain(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parse('explain', args, {
    config: { type: 'string', short: 'c' },
    pid: { type: 'string' },
    service: { type: 'string' },
  });
  if (values['help'] === true) {
    io.stdout.write(HELP['explain']!);
    return 0;
  }
  if (typeof values['config'] !== 'string') throw usage('explain: -c <file> is required');
  const pidText = values['pid'];
  if (typeof pidText !== 'string') throw usage('explain: --pid <pid> is required');
  const pid = Number(pidText);
  if (!Number.isSafeInteger(pid) || pid <= 0)
    throw usage(`explain: --pid must be a positive integer, got ${JSON.stringify(pidText)}`);
  let service: number | undefined;
  if (typeof values['service'] === 'string') {
    service = Number(values['service']);
    if (!Number.isSafeInteger(service) || service < 0)
      throw usage('explain: --service must be a service index (0, 1, ...)');
  }
  const config = loadAgentConfig(resolve(io.cwd, values['config']));
  const result = await explainProcess(config, pid, { env: io.env, ...(service === undefined ? {} : { service }) });
  io.stdout.write(`${result.text}\n`);
  return 0;
}

async function cmdInstall(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(
    'install',
    args,
    {
      user: { type: 'string' },
      group: { type: 'string' },
      config: { type: 'string' },
      write: { type: 'boolean' },
      'unit-path': { type: 'string' },
    },
    true,
  );
  if (values['help'] === true) {
    io.stdout.write(HELP['install']!);
    return 0;
  }
  if (positionals.length !== 1 || positionals[0] !== 'systemd') {
    throw usage('install: the only target is `systemd` (wid-agent install systemd)');
  }
  let unit: string;
  try {
    unit = renderSystemdUnit({
      command: io.self,
      ...(typeof values['user'] === 'string' ? { user: values['user'] } : {}),
      ...(typeof values['group'] === 'string' ? { group: values['group'] } : {}),
      ...(typeof values['config'] === 'string' ? { config: resolve(io.cwd, values['config']) } : {}),
    });
  } catch (cause) {
    throw usage(`install systemd: ${(cause as Error).message}`);
  }
  if (values['write'] === true) {
    const target = resolve(
      io.cwd,
      (values['unit-path'] as string | undefined) ?? '/etc/systemd/system/wid-agent.service',
    );
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, unit, { mode: 0o644 });
    io.stdout.write(
      `wrote ${target}; now run: systemctl daemon-reload && systemctl enable --now ${target.split('/').pop()}\n`,
    );
  } else {
    io.stdout.write(unit);
  }
  return 0;
}

/**
 * Runs `wid-agent <argv>`; resolves to the exit code. Failures print one line (`wid-agent: <reason> [code]`) to
 * stderr and give exit code 1 (2 for usage errors).
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'start':
        return await cmdStart(rest, io);
      case 'spiffe-inspect':
        return await cmdInspect(rest, io);
      case 'explain':
        return await cmdExplain(rest, io);
      case 'install':
        return await cmdInstall(rest, io);
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        io.stdout.write(MAIN_HELP);
        return command === undefined ? 2 : 0;
      default:
        throw usage(`unknown command ${JSON.stringify(command)}; commands: start, spiffe-inspect, explain, install`);
    }
  } catch (error) {
    io.stderr.write(`wid-agent: ${oneLine(error)}\n`);
    return (error as { code?: unknown }).code === 'ERR_WID_AGENT_USAGE' ? 2 : 1;
  }
}
