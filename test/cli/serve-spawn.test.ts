/**
 * `ovr-alpr serve` and `ovr-alpr import` as a user runs them: the built CLI in a child
 * process, on loopback, stopped with SIGTERM.
 */
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { projectRoot } from '../../src-pipeline/paths.js';
import { syntheticEvents } from '../../src-pipeline/store/synthetic.js';

const BIN = join(projectRoot(), 'bin', 'ovr-alpr.js');
const run = promisify(execFile);

describe('serve and import through bin/ovr-alpr.js', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovr-serve-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('imports events, serves them on 127.0.0.1 and stops cleanly on SIGTERM', async () => {
    const events = syntheticEvents(50, 7);
    const jsonl = join(dir, 'events.jsonl');
    writeFileSync(jsonl, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const imported = await run(process.execPath, [BIN, 'import', '--events-jsonl', jsonl, '--data-dir', join(dir, 'data')]);
    assert.match(imported.stdout + imported.stderr, /50/);

    const child = spawn(process.execPath, [BIN, 'serve', '--data-dir', join(dir, 'data'), '--port', '0', '--no-pipeline'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`no "listening on" line within 20 s: ${out}`)), 20_000);
        child.stdout.on('data', (b: Buffer) => {
          out += b.toString();
          const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
        child.on('exit', (code) => reject(new Error(`serve exited early with ${code}: ${out}`)));
      });
      const health = await fetch(`${url}/health`);
      assert.equal(health.status, 200);
      const recent = (await (await fetch(`${url}/events/recent?limit=5`)).json()) as { events: unknown[] };
      assert.equal(recent.events.length, 5);
      const bad = await fetch(`${url}/events/recent?limit=abc`);
      assert.equal(bad.status, 400);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, 'SIGTERM is a clean shutdown');
  });
});
