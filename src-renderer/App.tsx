/**
 * The console shell: a left navigation bar and one screen at a time, chosen by the URL hash.
 * Screens load their own data through the typed API client (api/client.ts).
 */
import { useEffect, useRef } from 'react';
import { AlertsScreen } from './screens/AlertsScreen';
import { EventsScreen } from './screens/EventsScreen';
import { HealthScreen } from './screens/HealthScreen';
import { LiveScreen } from './screens/LiveScreen';
import { SearchScreen } from './screens/SearchScreen';
import { SettingsScreen } from './screens/SettingsScreen';
import { ConnectionBadge } from './components/ConnectionBadge';
import { hrefFor, useRoute, type ScreenId } from './router';

const NAV: { id: ScreenId; label: string; key: string }[] = [
  { id: 'live', label: 'Live', key: '1' },
  { id: 'events', label: 'Events', key: '2' },
  { id: 'search', label: 'Search', key: '3' },
  { id: 'alerts', label: 'Alerts', key: '4' },
  { id: 'health', label: 'Health', key: '5' },
  { id: 'settings', label: 'Settings', key: '6' },
];

export function App() {
  const route = useRoute();
  const mainRef = useRef<HTMLElement>(null);

  // Alt+1…6 jumps between screens, for operators who keep their hands on the keyboard.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!e.altKey || e.ctrlKey || e.metaKey) return;
      const item = NAV.find((n) => n.key === e.key);
      if (!item) return;
      e.preventDefault();
      window.location.hash = hrefFor(item.id);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  // Moving focus to the new screen's heading tells screen readers and keyboard users where they are.
  useEffect(() => {
    mainRef.current?.querySelector<HTMLElement>('h1')?.focus({ preventScroll: true });
  }, [route.screen]);

  return (
    <div className="app">
      <a className="skip-link" href="#main" onClick={(e) => (e.preventDefault(), mainRef.current?.focus())}>
        Skip to content
      </a>
      <nav className="sidebar" aria-label="Screens">
        <div className="brand">
          OVR-ALPR <span>Console</span>
        </div>
        <ul>
          {NAV.map((n) => (
            <li key={n.id}>
              <a href={hrefFor(n.id)} aria-current={route.screen === n.id ? 'page' : undefined} title={`${n.label} (Alt+${n.key})`} data-screen={n.id}>
                {n.label}
              </a>
            </li>
          ))}
        </ul>
        <ConnectionBadge />
      </nav>
      <main id="main" ref={mainRef} tabIndex={-1} className="content">
        <Screen screen={route.screen} params={route.params} query={route.query} />
      </main>
    </div>
  );
}

function Screen({ screen, params, query }: { screen: ScreenId; params: string[]; query: URLSearchParams }) {
  switch (screen) {
    case 'live':
      return <LiveScreen />;
    case 'events':
      return <EventsScreen eventId={params[0]} />;
    case 'search':
      return <SearchScreen query={query} />;
    case 'alerts':
      return <AlertsScreen />;
    case 'health':
      return <HealthScreen />;
    case 'settings':
      return <SettingsScreen />;
  }
}
