/**
 * The operator console (the React build in dist/renderer) under /ui/. The files hold no
 * secrets, so they answer without a token; the page takes the token from its own `?token=`
 * and sends it on every API call. Paths that are not files and have no extension get
 * index.html, so a reload of any console address works; a missing asset is a plain 404.
 *
 * Every response carries the Content-Security-Policy of index.html's meta tag as a header as
 * well, read from the built file so the two cannot drift.
 */
import { existsSync, readFileSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { projectRoot } from '../../paths.js';
import { ApiError, notFound } from '../errors.js';

/** Where the console build is: `OVR_ALPR_UI_DIR` (tests build into a temp folder), else dist/renderer. */
export function defaultUiDir(env: Record<string, string | undefined> = process.env): string {
  return env.OVR_ALPR_UI_DIR ? resolve(env.OVR_ALPR_UI_DIR) : join(projectRoot(), 'dist', 'renderer');
}

/** The CSP in index.html's meta tag, or null when it has none. */
export function cspOf(indexHtml: string): string | null {
  const m = /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]+)"/i.exec(indexHtml);
  return m ? m[1].replace(/\s+/g, ' ').trim() : null;
}

/** Registers /ui and /ui/*; `scope` is the root app (the plugin registers with its own prefix). */
export async function uiRoutes(app: FastifyInstance, uiDir: string): Promise<void> {
  const indexFile = join(uiDir, 'index.html');
  await app.register(
    async (scope) => {
      // Public: the console's files are the same for everyone (see the header comment).
      scope.addHook('onRoute', (route) => {
        route.config = { ...(route.config as object | undefined), public: true } as typeof route.config;
      });
      // `/ui` → `/ui/`, keeping the query (the token): the page's relative asset URLs need the slash.
      scope.get('', { schema: { hide: true } }, (req, reply) => {
        const q = req.url.indexOf('?');
        return reply.redirect(`/ui/${q >= 0 ? req.url.slice(q) : ''}`);
      });
      if (!existsSync(indexFile)) {
        const missing = () => {
          throw new ApiError('UNAVAILABLE', `the console is not built (no ${indexFile}); run \`npm run build:renderer\` and restart the server`);
        };
        // 'slash' only: `/ui` itself is the redirect above.
        scope.get('/', { schema: { hide: true }, prefixTrailingSlash: 'slash' }, missing);
        scope.get('/*', { schema: { hide: true } }, missing);
        return;
      }
      const csp = cspOf(readFileSync(indexFile, 'utf8'));
      const security = (reply: { header: (k: string, v: string) => unknown }) => {
        if (csp) reply.header('content-security-policy', csp);
        reply.header('x-content-type-options', 'nosniff');
        reply.header('referrer-policy', 'no-referrer');
        reply.header('x-frame-options', 'DENY');
      };
      await scope.register(fastifyStatic, {
        root: uiDir,
        prefix: '/',
        index: ['index.html'],
        wildcard: true,
        schemaHide: true,
        // Hashed asset names change with every build; index.html must always be asked for again.
        cacheControl: false,
        setHeaders: (reply, path) => {
          security(reply);
          reply.header('cache-control', path.endsWith('index.html') ? 'no-cache' : 'public, max-age=31536000, immutable');
        },
      });
      scope.setNotFoundHandler((req, reply) => {
        const path = req.url.split('?')[0];
        if (req.method !== 'GET' || extname(path) !== '') {
          return reply.code(404).send(notFound(`no console file ${path}`).body());
        }
        security(reply);
        reply.header('cache-control', 'no-cache');
        return reply.sendFile('index.html');
      });
    },
    { prefix: '/ui' },
  );
}
