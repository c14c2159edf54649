/**
 * App-wide live state in zustand: the /live connection, the latest events (newest first), and
 * the latest overlay per camera. Overlays change many times a second, so components must not
 * select them with a hook (that would re-render React per frame); the canvas reads them with
 * `useLiveStore.getState()` inside requestAnimationFrame or via `useLiveStore.subscribe`.
 */
import { create } from 'zustand';
import type { StoredEvent } from '../../src-pipeline/common/plate-event';
import { apiGet } from '../api/client';
import { connectLive, type LiveState, type OverlayMessage } from '../api/live';
import type { EventList } from '../api/types';

const MAX_EVENTS = 200;

export interface LiveStore {
  state: LiveState;
  events: StoredEvent[];
  /** Events received since the page opened. */
  received: number;
  overlays: Record<string, OverlayMessage & { at: number }>;
  overlayMessages: number;
}

export const useLiveStore = create<LiveStore>(() => ({ state: 'connecting', events: [], received: 0, overlays: {}, overlayMessages: 0 }));

let stopEvents: (() => void) | undefined;

/** Opens the /live event feed once for the whole page, and fills it with the newest stored events. */
export function startEventFeed(): void {
  if (stopEvents) return;
  stopEvents = connectLive({
    path: '/live',
    onState: (state) => {
      useLiveStore.setState({ state });
      // On every (re)connect: events stored while the socket was down fill the gap.
      if (state === 'open')
        apiGet<EventList>('/events/recent', { limit: 50 }).then(
          (l) => seedEvents(l.events),
          () => {},
        );
    },
    onMessage: (msg) => {
      if (msg.type !== 'event') return;
      useLiveStore.setState((s) => {
        // A reconnect can replay nothing, but a duplicate must never show twice.
        if (s.events.some((e) => e.event_id === msg.event.event_id)) return s;
        return { events: [msg.event, ...s.events].slice(0, MAX_EVENTS), received: s.received + 1 };
      });
    },
  });
}

/** Merges events loaded over HTTP (the feed's backlog) under the live ones. */
export function seedEvents(events: StoredEvent[]): void {
  useLiveStore.setState((s) => {
    const seen = new Set(s.events.map((e) => e.event_id));
    const merged = [...s.events, ...events.filter((e) => !seen.has(e.event_id))];
    merged.sort((a, b) => (a.captured_at < b.captured_at ? 1 : a.captured_at > b.captured_at ? -1 : 0));
    return { events: merged.slice(0, MAX_EVENTS) };
  });
}

/** Replaces one event in the list (after a correction or review). */
export function replaceEvent(event: StoredEvent): void {
  useLiveStore.setState((s) => ({ events: s.events.map((e) => (e.event_id === event.event_id ? event : e)) }));
}

/**
 * Opens /live/overlays while the Live screen is shown. Overlay messages are written into the
 * store without notifying React selectors that read other fields: zustand notifies every
 * subscriber, but only the canvas subscribes to `overlays`, and it draws on its own clock.
 */
export function watchOverlays(): () => void {
  return connectLive({
    path: '/live/overlays',
    onMessage: (msg) => {
      if (msg.type !== 'overlay') return;
      const s = useLiveStore.getState();
      s.overlays[msg.camera_id] = { ...msg, at: performance.now() };
      // Mutated in place on purpose (see above); the counter lets tests see messages arrived.
      s.overlayMessages++;
    },
  });
}
