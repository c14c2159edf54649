/**
 * Proves the layering rules in eslint.config.js fire: snippets are linted as if they lived at
 * a path in each layer, and the import restrictions must (or must not) be reported.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const LAYER_RULES = new Set(['no-restricted-imports', 'no-restricted-syntax']);

let eslint: ESLint;

interface Finding {
  line: number;
  ruleId: string | null;
  message: string;
}

/** Lints `code` as the file `rel` (relative to the repo root); returns every message. */
async function lint(rel: string, code: string): Promise<Finding[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, rel) });
  assert.equal(result.fatalErrorCount, 0, `parse error in snippet for ${rel}: ${JSON.stringify(result.messages)}`);
  return result.messages.map((m) => ({ line: m.line, ruleId: m.ruleId, message: m.message }));
}

/** Lines (1-based) that carry a layering error. */
async function layeringErrorLines(rel: string, lines: string[]): Promise<number[]> {
  const msgs = await lint(rel, lines.join('\n') + '\n');
  return [...new Set(msgs.filter((m) => m.ruleId && LAYER_RULES.has(m.ruleId)).map((m) => m.line))].sort((a, b) => a - b);
}

describe('eslint layering rules', () => {
  before(() => {
    eslint = new ESLint({ cwd: root, overrideConfigFile: 'eslint.config.js' });
  });

  it('the config applies the rule to every layer', async () => {
    for (const rel of ['src-pipeline/common/x.ts', 'src-pipeline/common/a/b/x.ts', 'src-renderer/x.tsx', 'src-pipeline/vision/x.ts', 'src-main/x.ts']) {
      const cfg = await eslint.calculateConfigForFile(path.join(root, rel));
      const rule = cfg.rules?.['no-restricted-imports'];
      assert.ok(Array.isArray(rule) && (rule[0] === 2 || rule[0] === 'error'), `no-restricted-imports is not an error for ${rel}`);
    }
  });

  describe('src-pipeline/common', () => {
    const file = 'src-pipeline/common/x.ts';

    it('rejects node: built-ins', async () => {
      const msgs = await lint(file, "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n");
      const errs = msgs.filter((m) => m.ruleId === 'no-restricted-imports');
      assert.equal(errs.length, 1);
      assert.equal(errs[0].line, 1);
      assert.match(errs[0].message, /node:fs/);
      assert.match(errs[0].message, /Node built-in/);
    });

    it('rejects bare built-ins, type-only imports, re-exports and dynamic imports of them', async () => {
      const lines = [
        "import path from 'path';", // 1
        "import { Worker } from 'worker_threads';", // 2
        "import type { Stats } from 'fs';", // 3
        "export { randomUUID } from 'crypto';", // 4
        "import * as cp from 'child_process';", // 5
        "import os from 'os';", // 6
        "import 'fs/promises';", // 7
        "export const m = await import('node:fs');", // 8
        "export const n = await import('fs/promises');", // 9
        'export type S = Stats;',
        'export const all = [path, Worker, cp, os];',
      ];
      assert.deepEqual(await layeringErrorLines(file, lines), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });

    it('rejects Electron and Node-only packages', async () => {
      const lines = [
        "import { app } from 'electron';", // 1
        "import * as ort from 'onnxruntime-node';", // 2
        "import sharp from 'sharp';", // 3
        "import Database from 'better-sqlite3';", // 4
        "import pg from 'pg';", // 5
        "import { Kafka } from 'kafkajs';", // 6
        "import { Client } from 'minio';", // 7
        'export const all = [app, ort, sharp, Database, pg, Kafka, Client];',
      ];
      assert.deepEqual(await layeringErrorLines(file, lines), [1, 2, 3, 4, 5, 6, 7]);
    });

    it('rejects anything outside common', async () => {
      const lines = [
        "import { nms } from '../vision/detection.js';", // 1
        "import { x } from '../../src-main/x.js';", // 2
        "import { y } from '../../src-renderer/y.js';", // 3
        "import { z } from './../paths.js';", // 4
        "export * from '..';", // 5
        'export const all = [nms, x, y, z];',
      ];
      assert.deepEqual(await layeringErrorLines(file, lines), [1, 2, 3, 4, 5]);
    });

    it('allows zod and relative imports inside common', async () => {
      const lines = [
        "import { z } from 'zod';",
        "import { iou } from './geometry.js';",
        "import { AlprError } from './errors.js';",
        'export const all = [z, iou, AlprError];',
      ];
      assert.deepEqual(await lint(file, lines.join('\n') + '\n'), []);
    });

    it('knows how deep a file in a sub-folder of common sits', async () => {
      const lines = [
        "import { iou } from '../geometry.js';", // 1: still inside common
        "import { Box } from '../../common/geometry.js';", // 2: leaves common (even if it comes back)
        "import { nms } from '../../vision/detection.js';", // 3
        'export const all = [iou, nms];',
        'export type B = Box;',
      ];
      assert.deepEqual(await layeringErrorLines('src-pipeline/common/config/x.ts', lines), [2, 3]);
    });
  });

  describe('src-renderer', () => {
    const file = 'src-renderer/x.tsx';

    it('rejects electron and src-main, allows src-pipeline/common', async () => {
      const lines = [
        "import { ipcRenderer } from 'electron';", // 1
        "import { y } from '../src-main/y.js';", // 2
        "import { iou } from '../src-pipeline/common/geometry.js';", // 3: allowed
        'export const all = [ipcRenderer, y, iou];',
      ];
      const msgs = await lint(file, lines.join('\n') + '\n');
      const layer = msgs.filter((m) => m.ruleId === 'no-restricted-imports');
      assert.deepEqual(
        layer.map((m) => m.line),
        [1, 2],
      );
      assert.match(layer[0].message, /'electron'/);
      assert.match(layer[1].message, /src-main/);
    });

    it('accepts a file that only imports src-pipeline/common', async () => {
      const code = "import { iou, type Box } from '../src-pipeline/common/geometry.js';\nexport const f = (a: Box, b: Box) => iou(a, b);\n";
      assert.deepEqual(await lint(file, code), []);
      assert.deepEqual(await lint('src-renderer/components/deep/x.tsx', code.replace('../', '../../../')), []);
    });

    it('rejects the rest of src-pipeline, Node built-ins and Node-only packages', async () => {
      const lines = [
        "import { nms } from '../src-pipeline/vision/detection.js';", // 1
        "import { main } from '../src-pipeline/cli.js';", // 2
        "import fs from 'fs';", // 3
        "import { join } from 'node:path';", // 4
        "import sharp from 'sharp';", // 5
        "import { clipboard } from 'electron/common';", // 6
        'export const all = [nms, main, fs, join, sharp, clipboard];',
      ];
      assert.deepEqual(await layeringErrorLines(file, lines), [1, 2, 3, 4, 5, 6]);
    });
  });

  describe('src-pipeline outside common', () => {
    const file = 'src-pipeline/vision/x.ts';

    it('rejects src-renderer and electron, allows Node and common', async () => {
      const lines = [
        "import a from '../../src-renderer/a.js';", // 1
        "import { app } from 'electron';", // 2
        "import fs from 'node:fs';", // 3: allowed
        "import sharp from 'sharp';", // 4: allowed
        "import { iou } from '../common/geometry.js';", // 5: allowed
        'export const all = [a, app, fs, sharp, iou];',
      ];
      assert.deepEqual(await layeringErrorLines(file, lines), [1, 2]);
    });

    it('rejects a dynamic import of electron', async () => {
      assert.deepEqual(await layeringErrorLines(file, ["export const e = await import('electron');"]), [1]);
    });
  });

  describe('src-main', () => {
    it('rejects src-renderer, allows electron and the pipeline', async () => {
      const lines = [
        "import { App } from '../src-renderer/App.js';", // 1
        "import { app } from 'electron';", // 2: allowed
        "import { iou } from '../src-pipeline/common/geometry.js';", // 3: allowed
        "import path from 'node:path';", // 4: allowed
        'export const all = [App, app, iou, path];',
      ];
      assert.deepEqual(await layeringErrorLines('src-main/x.ts', lines), [1]);
    });
  });

  it('leaves tests unrestricted', async () => {
    const lines = [
      "import { app } from 'electron';",
      "import fs from 'node:fs';",
      "import { App } from '../../src-renderer/App.js';",
      'export const all = [app, fs, App];',
    ];
    assert.deepEqual(await layeringErrorLines('test/unit/x.test.ts', lines), []);
  });
});
