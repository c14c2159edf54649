/**
 * The supervisor with the real thing: `ovr-alpr serve --no-pipeline` (bin/ovr-alpr.js, the
 * built CLI; `npm run build` first) under the same Node, watched through its real /health.
 * Killed from outside with SIGKILL it is restarted on a new port; stopped on request it
 * finishes with a clean SIGTERM shutdown and stays stopped.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { projectRoot } from '../../src-pipeline/paths.js';
import { PipelineSupervisor, servePipelineArgs } from '../../src-main/pipeline-supervisor.js';
import { untilStatus } from '../support/supervisor.js';

const BIN = join(projectRoot(), 'bin', 'ovr-alpr.js');

describe('supervising the real `ovr-alpr serve`', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovr-supervise-serve-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs it, restarts it after a SIGKILL, stops it cleanly', async () => {
    const sup = new PipelineSupervisor({
      args: servePipelineArgs(BIN, { dataDir: join(dir, 'data'), extra: ['--no-pipeline'] }),
      restartDelayMs: 50,
      heartbeat: { kind: 'http', intervalMs: 200, timeoutMs: 10_000, startupTimeoutMs: 60_000 },
    });
    try {
      sup.start();
      const first = await untilStatus(sup, (s) => s.state === 'running', 'running', 60_000);
      assert.match(first.url!, /^http:\/\/127\.0\.0\.1:\d+$/);
      const health = await fetch(`${first.url}/health`);
      assert.ok(health.status < 500);
      await health.arrayBuffer();

      process.kill(first.pid!, 'SIGKILL');
      const second = await untilStatus(sup, (s) => s.state === 'running' && s.restarts === 1, 'running again', 60_000);
      assert.equal(second.lastExit?.kind, 'crash');
      assert.equal(second.lastExit?.signal, 'SIGKILL');
      assert.notEqual(second.pid, first.pid);

      await sup.stop();
      const s = sup.status();
      assert.equal(s.state, 'stopped');
      assert.equal(s.lastExit?.kind, 'stopped');
      // serve handles SIGTERM itself and exits 0 after closing the store.
      assert.equal(s.lastExit?.code, 0);
      assert.ok(sup.logs.tail().some((e) => e.stream === 'stderr' && /shutting down/.test(e.line)));
    } finally {
      await sup.dispose();
    }
  });
});
