/** GET /live: the WebSocket live event feed (see live.ts for the bounded per-client queue). */
import type { ApiApp, ApiContext } from '../context.js';

export function liveRoutes(app: ApiApp, ctx: ApiContext): void {
  app.get(
    '/live',
    {
      websocket: true,
      schema: {
        summary: 'WebSocket: a {"type":"hello"} message, then {"type":"event","event":{…}} for every new event',
        tags: ['live'],
      },
    },
    (socket) => ctx.hub.add(socket),
  );
}
