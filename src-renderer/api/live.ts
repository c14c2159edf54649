/**
 * The live WebSockets with automatic reconnect. Both are one-way: the server sends
 * `{"type":"hello"}`, then on /live `{"type":"event"}` for every new event, and on /live/overlays
 * `{"type":"overlay"}` with the boxes of each analysed frame (sent only while someone watches,
 * so the Live screen opens it and the rest of the console does not). Reconnects back off from
 * 0.5 s to 10 s.
 */
import type { OverlayMessage } from '../../src-pipeline/common/live-overlay';
import type { StoredEvent } from '../../src-pipeline/common/plate-event';
import { authedUrl } from './client';

export type { OverlayMessage };

export type LiveMessage = { type: 'hello'; version: string; max_queue: number } | { type: 'event'; event: StoredEvent } | OverlayMessage;

export type LiveState = 'connecting' | 'open' | 'closed';

export interface LiveOptions {
  /** `/live` for events, `/live/overlays` for the boxes of analysed frames. */
  path?: '/live' | '/live/overlays';
  onMessage: (msg: LiveMessage) => void;
  onState?: (state: LiveState) => void;
}

/** Opens the feed; the returned function closes it for good. */
export function connectLive(opts: LiveOptions): () => void {
  let socket: WebSocket | null = null;
  let stopped = false;
  let delay = 500;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const open = () => {
    if (stopped) return;
    opts.onState?.('connecting');
    const url = new URL(authedUrl(opts.path ?? '/live'));
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    socket = new WebSocket(url);
    socket.onopen = () => {
      delay = 500;
      opts.onState?.('open');
    };
    socket.onmessage = (ev) => {
      if (typeof ev.data !== 'string') return;
      let msg: LiveMessage;
      try {
        msg = JSON.parse(ev.data) as LiveMessage;
      } catch {
        return;
      }
      opts.onMessage(msg);
    };
    socket.onclose = () => {
      socket = null;
      if (stopped) return;
      opts.onState?.('closed');
      timer = setTimeout(open, delay);
      delay = Math.min(delay * 2, 10_000);
    };
  };
  open();

  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    socket?.close(1000, 'console closed the view');
  };
}
