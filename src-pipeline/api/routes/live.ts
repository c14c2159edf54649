/** GET /live: the WebSocket live event feed (see live.ts for the bounded per-client queue); GET /live/overlays: boxes of analysed frames. */
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

  app.get(
    '/live/overlays',
    {
      websocket: true,
      schema: {
        summary:
          'WebSocket: {"type":"overlay","camera_id","index","w","h","tracks":[{id,type,box,plate,confidence}],"plates":[{track_id,box,text,confidence}]} ' +
          'for analysed frames (boxes [x1,y1,x2,y2] in pixels of the w×h frame); lossy, newest only',
        tags: ['live'],
      },
    },
    (socket) => {
      if (!ctx.preview) return socket.close(1011, 'this server has no camera pipeline');
      ctx.preview.addOverlayClient(socket);
    },
  );
}
