// Runs the real, built wid-agent CLI (dist/cli.js) as a child process. `pnpm test` builds it first (tsc -b).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`tsc -b packages/agent\` before the e2e tests`);

export interface LogRecord {
  readonly msg?: string;
  readonly level?: number;
  readonly [key: string]: unknown;
}

/** A running `wid-agent start` with JSON logs collected. */
export class AgentProcess {
  readonly logs: LogRecord[] = [];
  readonly stderrText: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: { pred: (r: LogRecord) => boolean; resolve: (r: LogRecord) => void }[] = [];
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  private constructor(readonly child: ChildProcess) {
    let buffered = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      buffered += chunk;
      let nl = buffered.indexOf('\n');
      while (nl !== -1) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        this.stderrText.push(line);
        try {
          const rec = JSON.parse(line) as LogRecord;
          this.logs.push(rec);
          this.waiters = this.waiters.filter((w) => {
            if (!w.pred(rec)) return true;
            w.resolve(rec);
            return false;
          });
        } catch {
          // not a log line (a one-line CLI failure)
        }
        nl = buffered.indexOf('\n');
      }
    });
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve({ code, signal });
      });
    });
  }

  /** Starts `wid-agent start -c <config> --log-format json` and waits for its `ready` line. */
  static async start(config: string, timeoutMs = 20_000): Promise<AgentProcess> {
    const child = spawn(
      process.execPath,
      [CLI, 'start', '-c', config, '--log-format', 'json', '--log-level', 'debug'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const agent = new AgentProcess(child);
    const ready = agent.waitForLog((r) => r.msg === 'ready', timeoutMs);
    const failed = agent.exited.then(({ code }) => {
      throw new Error(`wid-agent exited with code ${code} before it was ready:\n${agent.stderrText.join('\n')}`);
    });
    await Promise.race([ready, failed]);
    return agent;
  }

  waitForLog(pred: (r: LogRecord) => boolean, timeoutMs = 15_000): Promise<LogRecord> {
    const found = this.logs.find(pred);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no matching log line within ${timeoutMs} ms; got:\n${this.stderrText.join('\n')}`)),
        timeoutMs,
      );
      this.waiters.push({
        pred,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
      });
    });
  }

  /** Sends SIGTERM and waits (up to `timeoutMs`) for the exit. */
  async stop(timeoutMs = 8_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.exitInfo !== undefined) return this.exitInfo;
    this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([
      this.exited,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (result === undefined) {
      this.child.kill('SIGKILL');
      throw new Error(`wid-agent did not exit within ${timeoutMs} ms of SIGTERM`);
    }
    return result;
  }

  /** Last resort in afterEach: kill this child (only this one) if it is still running. */
  kill(): void {
    if (this.exitInfo === undefined) this.child.kill('SIGKILL');
  }
}

/** Runs `wid-agent <args>` to completion. */
export function runCli(
  args: readonly string[],
  timeoutMs = 20_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`wid-agent ${args.join(' ')} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
