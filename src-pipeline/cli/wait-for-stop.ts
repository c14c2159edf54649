/** Resolves on SIGINT, SIGTERM or `signal` aborting, removing its listeners either way. */
export function waitForStop(signal?: AbortSignal): Promise<void> {
  return new Promise<void>((done) => {
    const stop = () => {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
      signal?.removeEventListener('abort', stop);
      done();
    };
    if (signal?.aborted) return done();
    signal?.addEventListener('abort', stop, { once: true });
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
