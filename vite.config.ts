// Vite config for the React console (src-renderer). `vite build` writes dist/renderer, which the
// Electron main process loads and electron-builder packages (see electron-builder.yml).
//
// The renderer is browser code: no Node polyfills or `define: { process… }` shims here. Anything
// it needs from the machine comes through the API or the preload bridge.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

export default defineConfig(({ command }) => {
  // The React Fast Refresh preamble is an inline <script> that the dev server injects, and the
  // CSP in index.html (script-src 'self') blocks inline scripts. In `vite serve` only, Vite stamps
  // a per-run nonce on the scripts it injects and devCspNonce adds that nonce to the CSP. Built
  // output has no inline scripts and keeps the CSP exactly as written.
  const devNonce = command === 'serve' ? randomBytes(18).toString('base64') : undefined;
  return {
    root: fileURLToPath(new URL('./src-renderer', import.meta.url)),
    // Relative asset URLs so the build works from file:// in Electron and from any API mount path.
    base: './',
    plugins: [react(), ...(devNonce ? [devCspNonce(devNonce)] : [])],
    html: devNonce ? { cspNonce: devNonce } : undefined,
    build: {
      // Relative to root (src-renderer): the repo's dist/renderer.
      outDir: '../dist/renderer',
      emptyOutDir: true,
      sourcemap: true,
    },
    // Loopback only, fixed port: the Electron main process (dev mode) loads exactly this URL, and a
    // silently different port would load nothing or someone else's server.
    server: { host: '127.0.0.1', port: 5173, strictPort: true },
    preview: { host: '127.0.0.1', port: 4173, strictPort: true },
  };
});

/** Dev server only: allows Vite's nonce-stamped inline scripts through the page's CSP meta tag. */
function devCspNonce(nonce: string): Plugin {
  return {
    name: 'ovr-alpr:dev-csp-nonce',
    apply: 'serve',
    transformIndexHtml: {
      order: 'pre',
      handler(html) {
        const cspMeta = /(<meta\s+http-equiv="Content-Security-Policy"\s+content="[^"]*?script-src 'self')/;
        if (!cspMeta.test(html)) {
          throw new Error("index.html must carry a Content-Security-Policy meta tag with script-src 'self'");
        }
        return html.replace(cspMeta, `$1 'nonce-${nonce}'`);
      },
    },
  };
}
