/**
 * The pipeline supervisor against real child processes (test/main/fixtures/pipeline-child.mjs
 * crashes, hangs or exits cleanly as its plan file says). Short timings come through options;
 * only states and their order are asserted, never durations.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PipelineSupervisor, servePipelineArgs, type PipelineSupervisorOptions, type SupervisorState } from '../../src-main/pipeline-supervisor.js';
import { untilStatus } from '../support/supervisor.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/pipeline-child.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ovr-supervisor-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

function make(plan: string[], opts: Partial<PipelineSupervisorOptions> = {}) {
  const planFile = join(dir, `plan-${++n}.txt`);
  writeFileSync(planFile, plan.join('\n'));
  const sup = new PipelineSupervisor({
    args: [FIXTURE],
    env: { ...process.env, FIXTURE_PLAN: planFile },
    restartDelayMs: 20,
    backoffInitialMs: 60_000,
    heartbeat: { kind: 'http', intervalMs: 50, timeoutMs: 600, startupTimeoutMs: 5000, requestTimeoutMs: 300 },
    stopTimeoutMs: 2000,
    ...opts,
  });
  const states: SupervisorState[] = [];
  sup.on('status', (s) => {
    if (states.at(-1) !== s.state) states.push(s.state);
  });
  return { sup, states, runs: () => readFileSync(`${planFile}.count`, 'utf8').length };
}

describe('pipeline supervisor (real child processes)', () => {
  it('runs the child, learns its URL from "listening on", sees the HTTP heartbeat, and stops it on request without restarting', async () => {
    const { sup, states, runs } = make(['serve']);
    sup.start();
    const up = await untilStatus(sup, (s) => s.state === 'running', 'running');
    assert.match(up.url ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(up.pid);
    assert.ok(up.lastHeartbeatAt);
    await sup.stop();
    const s = sup.status();
    assert.equal(s.state, 'stopped');
    assert.equal(s.lastExit?.kind, 'stopped');
    assert.deepEqual(states, ['starting', 'running', 'stopping', 'stopped']);
    assert.equal(runs(), 1);
    await sup.dispose();
  });

  it('restarts a crashed child (non-zero exit), and tells a signal death from a clean exit', async () => {
    const { sup, states, runs } = make(['crash', 'signal', 'serve']);
    sup.start();
    await untilStatus(sup, (s) => s.state === 'running' && s.restarts === 2, 'running after two crashes');
    const exits = sup.logs
      .tail()
      .filter((e) => e.stream === 'supervisor' && / crashed /.test(e.line))
      .map((e) => e.line.replace(/^pid \d+ /, '').replace(/ after \d+ ms$/, ''));
    assert.deepEqual(exits, ['crashed (code 3)', 'crashed (signal SIGKILL)']);
    assert.deepEqual(states, ['starting', 'running', 'restarting', 'starting', 'running', 'restarting', 'starting', 'running']);
    assert.equal(sup.status().attention, null);
    assert.equal(runs(), 3);
    // The child's own output is in the log ring, in order.
    assert.ok(sup.logs.tail().some((e) => e.stream === 'stderr' && e.line === 'fixture: simulated crash'));
    await sup.dispose();
  });

  it('does not restart a child that exits cleanly (code 0)', async () => {
    const { sup, states, runs } = make(['clean', 'serve']);
    sup.start();
    const s = await untilStatus(sup, (x) => x.state === 'exited', 'exited');
    assert.equal(s.lastExit?.kind, 'clean');
    assert.equal(s.lastExit?.code, 0);
    assert.equal(s.restarts, 0);
    // Give a wrongly scheduled restart the chance to happen.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(sup.status().state, 'exited');
    assert.equal(runs(), 1);
    assert.deepEqual(states, ['starting', 'running', 'exited']);
    await sup.dispose();
  });

  it('6 crashes within the window spend the budget of 5 restarts: backoff, with a message for the operator', async () => {
    const { sup, runs } = make(['crash'], { maxRestarts: 5, windowMs: 60_000, backoffInitialMs: 60_000 });
    sup.start();
    const s = await untilStatus(sup, (x) => x.state === 'backoff', 'backoff');
    assert.equal(runs(), 6, 'the first start and 5 restarts');
    assert.equal(s.restarts, 6);
    assert.equal(s.backoffLevel, 1);
    assert.equal(s.lastExit?.kind, 'crash');
    assert.match(s.attention ?? '', /used its restart budget \(5 restarts within 60 s\); next try in 60 s/);
    assert.ok(s.nextStartAt && Date.parse(s.nextStartAt) > Date.now());
    // A manual start clears the budget and tries at once.
    sup.start();
    await untilStatus(sup, (x) => x.state === 'running', 'running after a manual start');
    assert.equal(sup.status().attention, null);
    assert.equal(sup.status().backoffLevel, 0);
    await sup.dispose();
  });

  it('after the backoff delay it tries again, and a further crash doubles the delay', async () => {
    const { sup } = make(['crash'], { maxRestarts: 1, windowMs: 60_000, backoffInitialMs: 200, backoffMaxMs: 10_000 });
    sup.start();
    const first = await untilStatus(sup, (x) => x.state === 'backoff', 'first backoff');
    assert.equal(first.backoffLevel, 1);
    assert.match(first.attention ?? '', /next try in 0 s/);
    const second = await untilStatus(sup, (x) => x.state === 'backoff' && x.backoffLevel === 2, 'second backoff');
    assert.ok(Date.parse(second.nextStartAt!) - Date.parse(second.lastExit!.at) === 400, 'the delay doubled');
    await sup.stop();
    assert.equal(sup.status().state, 'stopped');
    assert.equal(sup.status().nextStartAt, null);
    await sup.dispose();
  });

  it('kills a hung child (alive, /health no longer answering) and restarts it', async () => {
    const { sup, states, runs } = make(['hang', 'serve']);
    sup.start();
    const s = await untilStatus(sup, (x) => x.state === 'running' && x.restarts === 1, 'running after the hang');
    assert.equal(s.lastExit?.kind, 'hung');
    assert.equal(s.lastExit?.signal, 'SIGKILL');
    assert.ok(sup.logs.tail().some((e) => e.stream === 'supervisor' && /stopped answering \(no heartbeat for \d+ ms\); killing pid \d+/.test(e.line)));
    assert.deepEqual(states, ['starting', 'running', 'restarting', 'starting', 'running']);
    assert.equal(runs(), 2);
    await sup.dispose();
  });

  it('line heartbeat: a child that never prints its heartbeat line is killed after the startup timeout', async () => {
    const { sup } = make(['silent', 'beat'], { heartbeat: { kind: 'line', pattern: /^heartbeat$/, timeoutMs: 500, startupTimeoutMs: 400 } });
    sup.start();
    const s = await untilStatus(sup, (x) => x.state === 'running' && x.restarts === 1, 'the beating child running');
    assert.equal(s.lastExit?.kind, 'hung');
    assert.ok(sup.logs.tail().some((e) => /gave no heartbeat within \d+ ms of starting/.test(e.line)));
    await sup.dispose();
  });

  it('a command that cannot be started is reported as spawn-failed and counted against the budget', async () => {
    const sup = new PipelineSupervisor({ command: join(dir, 'no-such-binary'), args: [], maxRestarts: 1, restartDelayMs: 10, backoffInitialMs: 60_000 });
    sup.start();
    const s = await untilStatus(sup, (x) => x.state === 'backoff', 'backoff');
    assert.equal(s.lastExit?.kind, 'spawn-failed');
    assert.match(s.lastExit?.message ?? '', /cannot start .*no-such-binary: .*ENOENT/);
    await sup.dispose();
  });

  it('keeps the child output in a rotating log file', async () => {
    const logFile = join(dir, 'logs', 'pipeline.log');
    const { sup } = make(['crash', 'serve'], { logFile, logRotation: { maxBytes: 300, maxFiles: 2 } });
    sup.start();
    await untilStatus(sup, (x) => x.state === 'running' && x.restarts === 1, 'running');
    await sup.dispose();
    const files = readdirSync(join(dir, 'logs')).sort();
    assert.deepEqual(files, ['pipeline.log', 'pipeline.log.1', 'pipeline.log.2']);
    const all = files.map((f) => readFileSync(join(dir, 'logs', f), 'utf8')).join('');
    assert.match(all, /supervisor stopping pid/);
    for (const f of files) assert.ok(readFileSync(join(dir, 'logs', f)).length <= 300);
  });

  it('takes its arguments from a function at each start when given one', async () => {
    const planFile = join(dir, `plan-${++n}.txt`);
    writeFileSync(planFile, 'crash\nserve');
    const calls: number[] = [];
    const sup = new PipelineSupervisor({
      args: () => {
        calls.push(calls.length + 1);
        return [FIXTURE, `--run=${calls.length}`];
      },
      env: { ...process.env, FIXTURE_PLAN: planFile },
      restartDelayMs: 20,
      heartbeat: { kind: 'http', intervalMs: 50, timeoutMs: 600, startupTimeoutMs: 5000, requestTimeoutMs: 300 },
    });
    sup.start();
    await untilStatus(sup, (x) => x.state === 'running' && x.restarts === 1, 'running after one crash');
    assert.deepEqual(calls, [1, 2]);
    assert.ok(sup.logs.tail().some((e) => e.stream === 'supervisor' && e.line.endsWith('--run=2')));
    await sup.dispose();
  });

  it('servePipelineArgs builds an `ovr-alpr serve` command bound to loopback', () => {
    assert.deepEqual(servePipelineArgs('/app/bin/ovr-alpr.js', { dataDir: '/data', configDir: '/cfg' }), [
      '/app/bin/ovr-alpr.js',
      'serve',
      '--data-dir',
      '/data',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--config',
      '/cfg',
    ]);
  });
});
