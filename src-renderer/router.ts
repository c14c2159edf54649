/**
 * Hash routing: `#/live`, `#/events`, `#/events/<id>`, `#/search?plate=…`. Hash URLs work the
 * same from the API's /ui/ mount and from file:// in Electron, with no server-side fallback.
 */
import { useSyncExternalStore } from 'react';

export type ScreenId = 'live' | 'events' | 'search' | 'alerts' | 'health' | 'settings';

export interface Route {
  screen: ScreenId;
  /** Path segments after the screen name (`#/events/abc` → ['abc']). */
  params: string[];
  /** Query after `?` in the hash. */
  query: URLSearchParams;
}

const SCREENS: readonly ScreenId[] = ['live', 'events', 'search', 'alerts', 'health', 'settings'];

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#\/?/, '');
  const [pathPart, queryPart = ''] = raw.split('?', 2);
  const segments = pathPart.split('/').filter(Boolean).map(decodeURIComponent);
  const screen = SCREENS.includes(segments[0] as ScreenId) ? (segments[0] as ScreenId) : 'live';
  return { screen, params: SCREENS.includes(segments[0] as ScreenId) ? segments.slice(1) : [], query: new URLSearchParams(queryPart) };
}

/** The hash for a screen, optional path segments and query. */
export function hrefFor(screen: ScreenId, params: string[] = [], query?: Record<string, string | undefined>): string {
  const path = [screen, ...params.map(encodeURIComponent)].join('/');
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') q.set(k, v);
  const qs = q.toString();
  return `#/${path}${qs ? `?${qs}` : ''}`;
}

export function navigate(screen: ScreenId, params: string[] = [], query?: Record<string, string | undefined>, replace = false): void {
  const href = hrefFor(screen, params, query);
  if (replace) window.history.replaceState(window.history.state, '', href);
  else window.location.hash = href;
  if (replace) window.dispatchEvent(new HashChangeEvent('hashchange'));
}

function subscribe(cb: () => void): () => void {
  window.addEventListener('hashchange', cb);
  return () => window.removeEventListener('hashchange', cb);
}

export function useHash(): string {
  return useSyncExternalStore(subscribe, () => window.location.hash);
}

export function useRoute(): Route {
  return parseHash(useHash());
}
