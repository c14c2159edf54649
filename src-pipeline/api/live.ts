/**
 * The live event feed: every published event goes to every connected WebSocket client as
 * `{"type":"event","event":{…}}`.
 *
 * Each client has a bounded send queue, and the socket is only handed more while its unsent
 * bytes are under a high-water mark. A client that stops reading fills the TCP buffers, the
 * unsent bytes stay high, and later events wait in its queue; past `maxQueue` the oldest is
 * dropped and counted. Memory per client is therefore bounded by the queue, not by how far behind it is,
 * and a slow client never slows the others or the pipeline calling publish().
 */
import type { WebSocket } from 'ws';
import type { StoredEvent } from '../common/plate-event.js';
import type { ApiMetrics } from './metrics.js';

const OPEN = 1;

export interface LiveClientStats {
  queued: number;
  dropped: number;
  sent: number;
}

class LiveClient {
  private readonly queue: string[] = [];
  dropped = 0;
  sent = 0;

  constructor(
    readonly socket: WebSocket,
    private readonly maxQueue: number,
    private readonly highWaterBytes: number,
    private readonly onDrop: () => void,
  ) {}

  enqueue(message: string): void {
    this.queue.push(message);
    if (this.queue.length > this.maxQueue) {
      this.queue.shift();
      this.dropped++;
      this.onDrop();
    }
    this.pump();
  }

  /**
   * Hands queued messages to the socket while its unsent bytes stay under the high-water
   * mark. A reader that keeps up never gets near it; one that stops leaves bytes unsent, so
   * messages stay in the bounded queue, where the oldest can be dropped. Each completed write
   * calls pump again, so the queue drains as soon as the client reads.
   */
  private pump(): void {
    while (this.queue.length > 0 && this.socket.readyState === OPEN && this.socket.bufferedAmount < this.highWaterBytes) {
      this.socket.send(this.queue.shift()!, (err) => {
        if (err) return; // the close handler removes the client
        this.sent++;
        this.pump();
      });
    }
  }

  stats(): LiveClientStats {
    return { queued: this.queue.length, dropped: this.dropped, sent: this.sent };
  }
}

export interface LiveHubOptions {
  /** Messages a client may have waiting before the oldest are dropped. */
  maxQueue?: number;
  /** Unsent bytes a client's socket may hold before new messages wait in the queue instead. */
  highWaterBytes?: number;
  /** How often to ping clients; ones that did not answer the previous ping are cut off. */
  heartbeatMs?: number;
  metrics?: ApiMetrics;
  version: string;
}

export class LiveHub {
  private readonly clients = new Set<LiveClient>();
  private readonly maxQueue: number;
  private readonly alive = new WeakMap<WebSocket, boolean>();
  private readonly heartbeat: NodeJS.Timeout;

  constructor(private readonly opts: LiveHubOptions) {
    this.maxQueue = opts.maxQueue ?? 256;
    this.heartbeat = setInterval(() => this.ping(), opts.heartbeatMs ?? 30_000);
    // The heartbeat must not keep a process alive on its own (tests, CLI shutdown).
    this.heartbeat.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  add(socket: WebSocket): void {
    const client = new LiveClient(socket, this.maxQueue, this.opts.highWaterBytes ?? 256 * 1024, () => this.opts.metrics?.liveDropped.inc());
    this.clients.add(client);
    this.opts.metrics?.wsClients.set(this.clients.size);
    this.alive.set(socket, true);
    socket.on('pong', () => this.alive.set(socket, true));
    const remove = () => {
      if (this.clients.delete(client)) this.opts.metrics?.wsClients.set(this.clients.size);
    };
    socket.on('close', remove);
    socket.on('error', remove);
    // The feed is one-way; anything a client sends is ignored.
    // A hello tells the client it is registered: events published from now on will reach it.
    client.enqueue(JSON.stringify({ type: 'hello', version: this.opts.version, max_queue: this.maxQueue }));
  }

  /** Sends `event` to every client. Serialised once, whatever the number of clients. */
  publish(event: StoredEvent): void {
    this.opts.metrics?.eventsPublished.inc();
    if (this.clients.size === 0) return;
    const message = JSON.stringify({ type: 'event', event });
    for (const c of this.clients) c.enqueue(message);
  }

  clientStats(): LiveClientStats[] {
    return [...this.clients].map((c) => c.stats());
  }

  private ping(): void {
    for (const c of this.clients) {
      if (this.alive.get(c.socket) === false) {
        c.socket.terminate();
        continue;
      }
      this.alive.set(c.socket, false);
      c.socket.ping();
    }
  }

  /** Closes every client with 1001 (going away); used on server shutdown. */
  close(): void {
    clearInterval(this.heartbeat);
    for (const c of this.clients) c.socket.close(1001, 'server shutting down');
    this.clients.clear();
    this.opts.metrics?.wsClients.set(0);
  }
}
