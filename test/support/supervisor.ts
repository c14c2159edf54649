/** Waiting on the desktop shell's PipelineSupervisor in tests. */
import type { PipelineSupervisor, SupervisorStatus } from '../../src-main/pipeline-supervisor.js';

/**
 * The first status (the current one included) that satisfies `pred`; after `ms`, an error with
 * the status and the child's last log lines, so a hung start says why.
 */
export function untilStatus(sup: PipelineSupervisor, pred: (s: SupervisorStatus) => boolean, what: string, ms = 20_000): Promise<SupervisorStatus> {
  return new Promise((resolve, reject) => {
    if (pred(sup.status())) return resolve(sup.status());
    const timer = setTimeout(() => {
      sup.off('status', on);
      reject(
        new Error(
          `timed out waiting for ${what}; status ${JSON.stringify(sup.status())}\n${sup.logs
            .tail(30)
            .map((e) => `${e.stream}: ${e.line}`)
            .join('\n')}`,
        ),
      );
    }, ms);
    const on = (s: SupervisorStatus) => {
      if (!pred(s)) return;
      clearTimeout(timer);
      sup.off('status', on);
      resolve(s);
    };
    sup.on('status', on);
  });
}
