// ESLint flat config for the whole repository.
//
// Besides typescript-eslint's recommended rules, this file enforces the runtime layering
// described in ARCHITECTURE.md (the equivalent of VS Code's `code-layering` rule):
//
//   src-pipeline/common/**  plain TS for every runtime: no Node built-ins, no Electron, no
//                           native/Node-only packages, nothing outside common (zod is fine)
//   src-renderer/**         browser code: no Node built-ins, no Electron, no Node-only
//                           packages, nothing from src-main or src-pipeline except
//                           src-pipeline/common
//   src-pipeline/**         Node only: no Electron, nothing from src-renderer or src-main
//   src-main/**             Electron main: nothing from src-renderer
//
// Static imports and re-exports are checked with `no-restricted-imports`; `import('…')` with a
// literal specifier is checked with `no-restricted-syntax` built from the same regexes.
// Flat config does not merge options of one rule across blocks (the last matching block
// wins), so every layer block below carries its complete list and the globs do not overlap.
// test/unit/layering.test.ts proves these rules fire.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const CODE = '{ts,tsx,mts,cts,js,jsx,mjs,cjs}';
// `/` is deliberately not escaped: it is literal in a RegExp source, and the esquery selector
// below rewrites it as \x2F.
const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** @typedef {{ regex: string, message: string }} Restriction */

/** Node built-ins, bare (`fs`, `fs/promises`) or with the `node:` scheme. */
const NODE_BUILTINS = {
  regex: `^(?:node:.*|${builtinModules
    .filter((m) => !m.startsWith('_'))
    .map(escapeRe)
    .join('|')})$`,
  message: 'Node built-in modules are not available in this layer (it must run in every runtime / the browser).',
};

const ELECTRON = {
  regex: '^electron(?:/.*)?$',
  message: 'Electron belongs in src-main only.',
};

/** Packages that only work in Node (native addons or Node networking). */
const NODE_ONLY_PACKAGES = {
  regex: '^(?:onnxruntime-node|sharp|better-sqlite3|pg|pg-.*|kafkajs|minio)(?:/.*)?$',
  message: 'This package is Node-only (native addon or Node networking); keep it in src-pipeline outside common.',
};

const FROM_RENDERER = {
  regex: '(?:^|/)src-renderer(?:/|$)',
  message: 'src-renderer is browser UI code; other layers must not import it.',
};

const FROM_MAIN = {
  regex: '(?:^|/)src-main(?:/|$)',
  message: 'src-main is the Electron main process; only it may import its own modules.',
};

const FROM_PIPELINE_NOT_COMMON = {
  regex: '(?:^|/)src-pipeline(?:/(?!common(?:/|$))|$)',
  message: 'The renderer may only use src-pipeline/common from the pipeline; talk to the rest via the API/preload bridge.',
};

const ABSOLUTE = {
  regex: '^(?:/|file:|[A-Za-z]:[\\\\/])',
  message: 'Absolute import paths are not allowed in shared code.',
};

/**
 * Relative imports that climb `levels` folders or more, e.g. levels = 1 → `../x`, `./../x`, `..`.
 * @param {number} levels
 */
const climbing = (levels) => `^(?:\\./)*(?:\\.\\.(?:/|$)){${levels}}`;

/** @param {number} depth folders below src-pipeline/common the linted file sits in */
const outsideCommon = (depth) => ({
  regex: climbing(depth + 1),
  message: 'src-pipeline/common must not import anything outside src-pipeline/common.',
});

/**
 * Builds the two rules for one layer from the same list of restrictions.
 * @param {Restriction[]} restrictions
 */
function layerRules(restrictions) {
  return {
    'no-restricted-imports': ['error', { patterns: restrictions.map(({ regex, message }) => ({ regex, message })) }],
    // `no-restricted-imports` does not look at dynamic `import('…')`. esquery regex literals
    // cannot contain `/`, so it is written as \x2F.
    'no-restricted-syntax': [
      'error',
      ...restrictions.map(({ regex, message }) => ({
        selector: `ImportExpression[source.type='Literal'][source.value=/${regex.replaceAll('/', '\\x2F')}/]`,
        message,
      })),
    ],
  };
}

// common may contain sub-folders; each depth gets its own "do not climb out" regex.
const COMMON_MAX_DEPTH = 6;
const commonBlocks = Array.from({ length: COMMON_MAX_DEPTH + 1 }, (_, depth) => ({
  name: `ovr-alpr/layering/common-depth-${depth}`,
  files: [`src-pipeline/common/${'*/'.repeat(depth)}*.${CODE}`],
  rules: layerRules([NODE_BUILTINS, ELECTRON, NODE_ONLY_PACKAGES, FROM_RENDERER, FROM_MAIN, ABSOLUTE, outsideCommon(depth)]),
}));

export default defineConfig([
  // .scratch/ holds uncommitted local experiments.
  globalIgnores(['dist/', 'node_modules/', '.tmp/', '.scratch/', 'models/', 'coverage/', 'release/', 'out/'], 'ovr-alpr/ignores'),

  {
    name: 'ovr-alpr/base',
    files: [`**/*.${CODE}`],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: { ...globals.node },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
    },
  },

  {
    name: 'ovr-alpr/renderer-globals',
    files: [`src-renderer/**/*.${CODE}`],
    languageOptions: { globals: { ...globals.browser } },
  },

  // ---- Layering -------------------------------------------------------------------------
  ...commonBlocks,
  {
    name: 'ovr-alpr/layering/pipeline',
    files: [`src-pipeline/**/*.${CODE}`],
    ignores: ['src-pipeline/common/**'],
    rules: layerRules([ELECTRON, FROM_RENDERER, FROM_MAIN]),
  },
  {
    name: 'ovr-alpr/layering/renderer',
    files: [`src-renderer/**/*.${CODE}`],
    rules: layerRules([NODE_BUILTINS, ELECTRON, NODE_ONLY_PACKAGES, FROM_MAIN, FROM_PIPELINE_NOT_COMMON]),
  },
  {
    name: 'ovr-alpr/layering/main',
    files: [`src-main/**/*.${CODE}`],
    rules: layerRules([FROM_RENDERER]),
  },
]);
