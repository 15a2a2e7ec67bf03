/**
 * An AbortSignal that fires when any of `signals` fires. Unlike `AbortSignal.any`, it removes its listeners on
 * `dispose()`, so a long-lived signal (the client's close signal) does not collect one listener per finished call.
 */
export function linkSignals(...signals: (AbortSignal | undefined)[]): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const cleanups: (() => void)[] = [];
  const dispose = (): void => {
    for (const c of cleanups.splice(0)) c();
  };
  for (const s of signals) {
    if (s === undefined) continue;
    if (s.aborted) {
      dispose();
      controller.abort(s.reason);
      break;
    }
    const onAbort = (): void => {
      dispose();
      controller.abort(s.reason);
    };
    s.addEventListener('abort', onAbort, { once: true });
    cleanups.push(() => s.removeEventListener('abort', onAbort));
  }
  return { signal: controller.signal, dispose };
}
