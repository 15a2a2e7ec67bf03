import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** One JSON line a child printed. */
export type Line = Record<string, unknown> & { event?: string };

/**
 * A child process printing one JSON object per line on stdout (our workload fixture, the go-spiffe interop program).
 * `waitFor` resolves with the first line matching, or rejects when the child exits first (with its stderr).
 */
export interface LineChild {
  readonly process: ChildProcess;
  readonly lines: Line[];
  waitFor(match: string | ((line: Line) => boolean), timeoutMs?: number): Promise<Line>;
  /** Resolves with the exit code once the child exits. */
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  kill(): void;
}

export function spawnLineChild(command: string, args: readonly string[], env: NodeJS.ProcessEnv): LineChild {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Line[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const wake = () => {
    for (const w of [...waiters]) w();
  };
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  createInterface({ input: child.stdout! }).on('line', (text) => {
    try {
      lines.push(JSON.parse(text) as Line);
    } catch {
      lines.push({ event: 'non-json', text });
    }
    wake();
  });
  const closed = new Promise<void>((resolve) => {
    child.on('close', (code, signal) => {
      exit = { code, signal };
      wake();
      resolve();
    });
  });
  return {
    process: child,
    lines,
    waitFor(match, timeoutMs = 60_000) {
      const test = typeof match === 'string' ? (l: Line) => l.event === match : match;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for a line; lines so far: ${JSON.stringify(lines)}\nstderr: ${stderr}`));
        }, timeoutMs);
        const check = () => {
          const found = lines.find(test);
          if (found) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve(found);
          } else if (exit) {
            clearTimeout(timer);
            waiters.delete(check);
            reject(
              new Error(
                `child exited (${exit.code ?? exit.signal}) before the expected line; lines: ${JSON.stringify(lines)}\nstderr: ${stderr}`,
              ),
            );
          }
        };
        waiters.add(check);
        check();
      });
    },
    async exited() {
      await closed;
      return { ...exit!, stderr };
    },
    kill() {
      if (exit === undefined) child.kill('SIGKILL');
    },
  };
}
