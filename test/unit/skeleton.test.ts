/**
 * The fixed top level and the packaging/UI foundations: electron-builder.yml (parsed, and checked
 * against electron-builder's own schema), vite.config.ts, the renderer's CSP and the rule that
 * renderer code imports nothing from Node or Electron, and the desktop entry. Reads files only;
 * it needs neither a build nor an Electron binary.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const read = (rel: string) => readFileSync(path.join(root, rel), 'utf8');

const TOP_LEVEL_FILES = ['package.json', 'electron-builder.yml', 'vite.config.ts'];
const TOP_LEVEL_DIRS = ['src-main', 'src-renderer', 'src-pipeline', 'config', 'models', 'resources', 'compose'];
const NATIVE_MODULES = ['onnxruntime-node', 'better-sqlite3', 'sharp'];

interface TargetEntry {
  target: string;
  arch?: string[] | string;
}

interface BuilderConfig {
  appId: string;
  productName: string;
  directories: { output: string; buildResources?: string };
  files: string[];
  extraResources: ({ from: string; to: string } | string)[];
  asarUnpack: string[];
  linux: {
    executableName: string;
    icon: string;
    category: string;
    description: string;
    maintainer: string;
    desktop: { entry: Record<string, string> };
    target: (TargetEntry | string)[];
  };
}

function builderConfig(): BuilderConfig {
  return YAML.parse(read('electron-builder.yml')) as BuilderConfig;
}

/** `[Desktop Entry]` keys of a .desktop file. */
function desktopEntry(text: string): Map<string, string> {
  const entries = new Map<string, string>();
  let inMain = false;
  for (const line of text.split('\n')) {
    if (/^\s*(#|$)/.test(line)) continue;
    const group = /^\[(.+)\]$/.exec(line.trim());
    if (group) {
      inMain = group[1] === 'Desktop Entry';
      continue;
    }
    const eq = line.indexOf('=');
    if (inMain && eq > 0) entries.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return entries;
}

/** Every source file under src-renderer (relative to the repo root). */
function rendererSources(dir = 'src-renderer'): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(root, dir))) {
    const rel = path.join(dir, name);
    if (statSync(path.join(root, rel)).isDirectory()) out.push(...rendererSources(rel));
    else if (/\.(?:[cm]?[jt]sx?|html)$/.test(name)) out.push(rel);
  }
  return out;
}

/** Module specifiers in static imports/re-exports, `import('…')` and `require('…')` calls. */
function importedSpecifiers(code: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g,
    /\brequire\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g,
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) found.push(m[1]);
  return found;
}

describe('fixed top level', () => {
  it('has the fixed files and folders', () => {
    for (const f of TOP_LEVEL_FILES) assert.ok(statSync(path.join(root, f), { throwIfNoEntry: false })?.isFile(), `${f} is missing`);
    for (const d of TOP_LEVEL_DIRS) assert.ok(statSync(path.join(root, d), { throwIfNoEntry: false })?.isDirectory(), `${d}/ is missing`);
  });

  it('says what each packaged folder holds', () => {
    for (const d of ['src-main', 'resources', 'compose']) {
      const readme = read(`${d}/README.md`);
      assert.match(readme, /^# /m, `${d}/README.md has no title`);
      assert.ok(readme.length > 300, `${d}/README.md is too short to say what the folder holds`);
    }
  });

  it('keeps build output out of git', () => {
    const ignored = read('.gitignore')
      .split('\n')
      .map((l) => l.trim());
    assert.ok(
      ignored.some((l) => /^\/?dist\/?$/.test(l)),
      '.gitignore lacks dist/',
    );
    assert.ok(
      ignored.some((l) => /^\/?release\/?$/.test(l)),
      '.gitignore lacks release/',
    );
  });
});

describe('electron-builder.yml', () => {
  it('is valid for the installed electron-builder (its JSON schema)', async () => {
    // app-builder-lib is electron-builder's engine; this is the check `electron-builder` runs first.
    const require = createRequire(import.meta.url);
    const { validateConfiguration } = require('app-builder-lib/out/util/config/config.js') as {
      validateConfiguration(config: unknown, debugLogger: { isEnabled: boolean; add(key: string, value: unknown): void }): Promise<void>;
    };
    await validateConfiguration(builderConfig(), { isEnabled: false, add() {} });
  });

  it('names the app and writes installers to release/', () => {
    const cfg = builderConfig();
    assert.equal(cfg.appId, 'org.ovr-alpr.console');
    assert.equal(cfg.productName, 'OVR-ALPR Console');
    assert.equal(cfg.directories.output, 'release');
  });

  it('packages the compiled code, the renderer build, the model manifest and the config', () => {
    const cfg = builderConfig();
    for (const f of ['dist/**', 'dist/renderer/**', 'package.json', 'models/manifest.json']) {
      assert.ok(cfg.files.includes(f), `files lacks ${f}`);
    }
    assert.ok(!cfg.files.some((f) => /^(?:src-|test|bench)/.test(f)), 'sources, tests or benchmarks are packaged');
    // config/ ships once, as plain files in <resources>/config (electron-builder leaves the
    // sources of extraResources out of app.asar).
    assert.ok(
      cfg.extraResources.some((r) => typeof r === 'object' && r.from === 'config' && r.to === 'config'),
      'extraResources does not copy config/',
    );
    assert.ok(existsSync(path.join(root, 'models/manifest.json')), 'models/manifest.json is missing');
  });

  it('builds deb and AppImage for x64 and arm64', () => {
    const { target } = builderConfig().linux;
    for (const name of ['deb', 'AppImage']) {
      const entry = target.find((t): t is TargetEntry => typeof t === 'object' && t.target === name);
      assert.ok(entry, `linux.target lacks ${name}`);
      const arch = [entry.arch ?? []].flat();
      assert.deepEqual([...arch].sort(), ['arm64', 'x64'], `${name} arch`);
    }
  });

  it('unpacks the native modules (and sharp’s libvips packages) from the asar', () => {
    const { asarUnpack } = builderConfig();
    for (const mod of NATIVE_MODULES) {
      assert.ok(asarUnpack.includes(`**/node_modules/${mod}/**/*`), `asarUnpack lacks ${mod}`);
    }
    assert.ok(asarUnpack.includes('**/node_modules/@img/**/*'), 'asarUnpack lacks @img (sharp’s prebuilt libvips)');
  });

  it('points at an icon set that exists', () => {
    const { linux } = builderConfig();
    const dir = path.join(root, linux.icon);
    for (const size of [16, 32, 48, 64, 128, 256, 512]) {
      const png = readFileSync(path.join(dir, `${size}x${size}.png`));
      assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG', `${size}x${size}.png is not a PNG`);
      assert.equal(png.readUInt32BE(16), size, `${size}x${size}.png width`);
      assert.equal(png.readUInt32BE(20), size, `${size}x${size}.png height`);
    }
    assert.match(read('resources/icon.svg'), /<svg[^>]+viewBox="0 0 512 512"/);
  });

  it('agrees with resources/ovr-alpr.desktop', () => {
    const cfg = builderConfig();
    const entry = desktopEntry(read('resources/ovr-alpr.desktop'));
    assert.equal(entry.get('Type'), 'Application');
    assert.equal(entry.get('Name'), cfg.productName);
    assert.equal(entry.get('Comment'), cfg.linux.description);
    assert.equal(entry.get('Icon'), cfg.linux.executableName);
    assert.equal(entry.get('TryExec'), cfg.linux.executableName);
    assert.equal(entry.get('Exec')?.split(' ')[0], cfg.linux.executableName);
    assert.equal(entry.get('Categories'), cfg.linux.category.replace(/;?$/, ';'));
    const pkg = JSON.parse(read('package.json')) as { desktopName?: string };
    assert.equal(entry.get('StartupWMClass'), pkg.desktopName?.replace(/\.desktop$/, ''));
    for (const [key, value] of Object.entries(cfg.linux.desktop.entry)) assert.equal(entry.get(key), value, key);
    assert.match(cfg.linux.maintainer, /<[^@\s>]+@[^@\s>]+>/, 'a Debian maintainer needs an e-mail address');
  });
});

describe('vite.config.ts', () => {
  const text = read('vite.config.ts');

  it('builds src-renderer into dist/renderer with relative asset URLs', () => {
    const rootDir = /\broot:\s*fileURLToPath\(new URL\('\.\/(src-renderer)',\s*import\.meta\.url\)\)/.exec(text)?.[1];
    assert.equal(rootDir, 'src-renderer', 'root is not src-renderer (resolved against the config file)');
    const outDir = /\boutDir:\s*'([^']+)'/.exec(text)?.[1];
    assert.ok(outDir, 'no build.outDir');
    assert.equal(path.resolve(root, rootDir, outDir), path.join(root, 'dist', 'renderer'));
    assert.match(text, /\bemptyOutDir:\s*true\b/);
    assert.match(text, /\bbase:\s*'\.\/'/);
    assert.match(text, /@vitejs\/plugin-react/);
  });

  it('serves on the loopback interface on a fixed port', () => {
    assert.match(text, /server:\s*\{[^}]*host:\s*'127\.0\.0\.1'[^}]*strictPort:\s*true/);
  });

  it('adds no Node polyfills or Node globals to the renderer', () => {
    const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    assert.doesNotMatch(code, /polyfill/i, 'a polyfill plugin is configured');
    assert.doesNotMatch(code, /\bdefine\s*:/, '`define` shims (process.env, global, …) are configured');
  });
});

describe('src-renderer', () => {
  it('index.html carries a strict Content-Security-Policy', () => {
    const html = read('src-renderer/index.html');
    const meta = /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]+)"/i.exec(html);
    assert.ok(meta, 'no CSP meta tag');
    const directives = new Map(
      meta[1]
        .split(';')
        .map((d) => d.trim().split(/\s+/))
        .filter((d) => d[0])
        .map(([name, ...values]) => [name, values]),
    );
    assert.deepEqual(directives.get('default-src'), ["'self'"]);
    assert.deepEqual(directives.get('script-src'), ["'self'"]);
    assert.deepEqual(directives.get('connect-src'), ["'self'", 'http://127.0.0.1:*', 'ws://127.0.0.1:*']);
    for (const values of directives.values()) {
      assert.ok(!values.includes("'unsafe-eval'"), 'unsafe-eval is allowed');
    }
    // The policy must come before any script, or it does not apply to it.
    assert.ok(meta.index < html.search(/<script\b/i), 'a <script> precedes the CSP');
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, 'index.html has an inline <script>');
  });

  it('imports nothing from Node, Electron, src-main or the Node-only pipeline', () => {
    const builtins = new Set(builtinModules.filter((m) => !m.startsWith('_')));
    const sources = rendererSources();
    assert.ok(sources.some((f) => f.endsWith('main.tsx')) && sources.some((f) => f.endsWith('App.tsx')), 'renderer sources not found');
    const offending: string[] = [];
    for (const rel of sources) {
      for (const spec of importedSpecifiers(read(rel))) {
        const bad =
          spec.startsWith('node:') ||
          builtins.has(spec) ||
          builtins.has(spec.split('/')[0]) ||
          /^electron(?:\/|$)/.test(spec) ||
          /(?:^|\/)src-main(?:\/|$)/.test(spec) ||
          /(?:^|\/)src-pipeline(?:\/(?!common(?:\/|$))|$)/.test(spec);
        if (bad) offending.push(`${rel}: ${spec}`);
      }
    }
    assert.deepEqual(offending, []);
  });

  it('the import scanner catches what it is meant to catch', () => {
    const specs = importedSpecifiers(
      [
        "import fs from 'node:fs';",
        "import { ipcRenderer } from 'electron';",
        "export { x } from '../src-main/x';",
        "import '../src-pipeline/vision/y';",
        "const p = import('path');",
        "const c = require('child_process');",
        "import type { T } from '../src-pipeline/common/t';",
      ].join('\n'),
    );
    assert.deepEqual(
      specs.sort(),
      ['../src-main/x', '../src-pipeline/common/t', '../src-pipeline/vision/y', 'child_process', 'electron', 'node:fs', 'path'].sort(),
    );
  });
});
