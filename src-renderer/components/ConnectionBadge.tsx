import { useEffect } from 'react';
import { startEventFeed, useLiveStore } from '../state/live-store';

const LABEL = { connecting: 'Connecting…', open: 'Live feed connected', closed: 'Live feed lost, reconnecting…' } as const;

/** The state of the /live feed, always visible in the sidebar. */
export function ConnectionBadge() {
  const state = useLiveStore((s) => s.state);
  useEffect(() => startEventFeed(), []);
  return (
    <div className={`connection connection-${state}`} role="status" aria-live="polite">
      <span className="dot" aria-hidden="true" />
      {LABEL[state]}
    </div>
  );
}
