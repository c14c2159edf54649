/** Structured logging hook shared by the sinks: no console output inside the modules. */
export type SinkLogLevel = 'info' | 'warn' | 'error';
export type SinkLog = (level: SinkLogLevel, message: string, details?: object) => void;

export const noLog: SinkLog = () => {};

/** The loggable parts of an error: code and retriable for AlprError, the message for anything. */
export function errorDetails(err: unknown): Record<string, unknown> {
  const e = err as { code?: unknown; retriable?: unknown; message?: unknown } | null;
  return {
    error: err instanceof Error ? err.message : String(err),
    ...(typeof e?.code === 'string' ? { code: e.code } : {}),
    ...(typeof e?.retriable === 'boolean' ? { retriable: e.retriable } : {}),
  };
}

/** Calls the log without letting a throwing logger break the sink. */
export function safeLog(log: SinkLog, level: SinkLogLevel, message: string, details?: object): void {
  try {
    log(level, message, details);
  } catch {
    // A logger that throws must not turn a handled condition into a failure.
  }
}
