/**
 * The window's security rules as plain data and predicates (the Electron glue in main.ts
 * applies them): Electron's security checklist: no Node in the renderer, context isolation,
 * the sandbox, a strict CSP, navigation and new windows only to the local API, permissions
 * denied, IPC only from our own pages.
 */

/** webPreferences for every BrowserWindow the app opens (the preload path is added by main.ts). */
export const SECURE_WEB_PREFERENCES = {
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  nodeIntegrationInSubFrames: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  experimentalFeatures: false,
  webviewTag: false,
  navigateOnDragDrop: false,
  safeDialogs: true,
  spellcheck: false,
} as const;

/** Origins the console may come from: http on a loopback address with an explicit port. */
export function isLoopbackHttpOrigin(origin: string): boolean {
  try {
    const u = new URL(origin);
    return (
      u.protocol === 'http:' && (u.hostname === '127.0.0.1' || u.hostname === '[::1]' || u.hostname === 'localhost') && u.port !== '' && u.origin === origin
    );
  } catch {
    return false;
  }
}

/** The console's CSP: everything from the API origin; live feed over its WebSocket; nothing else. */
export function contentSecurityPolicy(apiOrigin: string): string {
  if (!isLoopbackHttpOrigin(apiOrigin)) throw new RangeError(`the console must come from a loopback http origin, got ${apiOrigin}`);
  const ws = apiOrigin.replace(/^http:/, 'ws:');
  return [
    "default-src 'none'",
    "script-src 'self'",
    // React and recharts set style attributes; no external styles.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src 'self' ${ws}`,
    "media-src 'self' blob:",
    "worker-src 'self' blob:",
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-src 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The local status page (loading / pipeline down): no script at all. */
export const STATUS_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** In-window navigation: only within the API origin (the console, its docs). */
export function isAllowedNavigation(url: string, apiOrigin: string | null): boolean {
  if (!apiOrigin) return false;
  try {
    return new URL(url).origin === apiOrigin;
  } catch {
    return false;
  }
}

/** IPC is answered only for frames showing the console from the API origin (never a navigated-to page or an iframe elsewhere). */
export function isTrustedSender(frameUrl: string | undefined, apiOrigin: string | null): boolean {
  return frameUrl !== undefined && isAllowedNavigation(frameUrl, apiOrigin);
}

/** Links that open outside the app, in the system browser: https only (docs, licence pages). */
export function isExternalLinkAllowed(url: string): boolean {
  try {
    return new URL(url).protocol === 'https:';
  } catch {
    return false;
  }
}
