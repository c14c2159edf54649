/** config/cameras.yaml: the shipped file, type inference, and errors that name file, key and fix. */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlprError } from '../../src-pipeline/common/errors.js';
import { cameraToSourceSpec, enabledSourceSpecs, loadCamerasConfig } from '../../src-pipeline/ingest/cameras.js';
import { projectRoot } from '../../src-pipeline/paths.js';

const root = mkdtempSync(join(tmpdir(), 'ovr-alpr-cameras-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
function file(yaml: string): string {
  const f = join(root, `cameras${n++}.yaml`);
  writeFileSync(f, yaml);
  return f;
}

function assertInvalid(yaml: string, ...needles: string[]) {
  const f = file(yaml);
  assert.throws(
    () => loadCamerasConfig(f),
    (err: unknown) => {
      assert.ok(err instanceof AlprError, String(err));
      assert.equal(err.code, 'CONFIG_INVALID');
      for (const s of [f, 'config/cameras.yaml', ...needles]) assert.ok(err.message.includes(s), `"${s}" missing from:\n${err.message}`);
      return true;
    },
  );
}

describe('cameras config', () => {
  it('the shipped config/cameras.yaml is valid', () => {
    const cfg = loadCamerasConfig(join(projectRoot(), 'config', 'cameras.yaml'));
    assert.ok(Array.isArray(cfg.cameras));
  });

  it('a missing file means no cameras', () => {
    assert.deepEqual(loadCamerasConfig(join(root, 'nope.yaml')).cameras, []);
  });

  it('infers the type from the source and fills defaults', () => {
    const cfg = loadCamerasConfig(
      file(`cameras:
  - { id: a, source: rtsp://10.0.0.1/s, transport: udp, fps_cap: 10, roi: [[0,0],[10,0],[10,10]], direction_line: [[0,5],[10,5]], region: eu }
  - { id: b, source: /dev/video0, enabled: false }
  - { id: c, source: clip.mp4, loop: true, realtime: true }
`),
    );
    assert.deepEqual(
      cfg.cameras.map((c) => c.type),
      ['rtsp', 'v4l2', 'file'],
    );
    assert.equal(cfg.cameras[0].transport, 'udp');
    assert.equal(cfg.cameras[1].enabled, false);
    const specs = enabledSourceSpecs(cfg);
    assert.deepEqual(
      specs.map((s) => s.id),
      ['a', 'c'],
    );
    assert.equal(cameraToSourceSpec(cfg.cameras[0]).fpsCap, 10);
    assert.equal(specs[1].loop, true);
  });

  it('names the key for unknown keys, bad values, duplicates and incomplete custom sources', () => {
    assertInvalid('cameras:\n  - { id: a, source: x.mp4, fps: 3 }\n', 'cameras.0', 'fps');
    assertInvalid('cameras:\n  - { id: a, source: x.mp4, transport: quic }\n', 'cameras.0.transport');
    assertInvalid('cameras:\n  - { id: a, source: x.mp4, roi: [[0,0],[1,1]] }\n', 'cameras.0.roi', '3');
    assertInvalid('cameras:\n  - { id: a, source: x.mp4 }\n  - { id: a, source: y.mp4 }\n', 'cameras.1.id', 'duplicate');
    assertInvalid('cameras:\n  - { id: a, type: custom, source: x }\n', 'cameras.0.command', 'cameras.0.width');
    assertInvalid('cameras:\n  - { id: a, source: rtsp://h/s, loop: true }\n', 'cameras.0.loop');
    assertInvalid('cameras:\n  - { id: "a b", source: x.mp4 }\n', 'cameras.0.id');
  });
});
