/**
 * Prometheus metrics for one server instance. Each server owns its own Registry (not
 * prom-client's global one) so several servers in one process (tests, the benchmark) do not
 * collide on metric names.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { CameraOut } from './schemas.js';

export interface ApiMetrics {
  registry: Registry;
  requests: Counter<'method' | 'route' | 'status'>;
  duration: Histogram<'method' | 'route' | 'status'>;
  eventsPublished: Counter;
  liveDropped: Counter;
  wsClients: Gauge;
}

export function createMetrics(opts: { defaultMetrics?: boolean; cameras?: () => CameraOut[] } = {}): ApiMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'ovr_alpr_api_' });
  if (opts.cameras) cameraMetrics(registry, opts.cameras);
  return {
    registry,
    // `route` is the route pattern (/events/{event_id}), never the raw URL: raw URLs would
    // create one time series per event id and per plate, and leak plates into metrics.
    requests: new Counter({
      name: 'ovr_alpr_http_requests_total',
      help: 'HTTP requests by route pattern and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'ovr_alpr_http_request_duration_seconds',
      help: 'HTTP request duration by route pattern and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    eventsPublished: new Counter({ name: 'ovr_alpr_live_events_published_total', help: 'Events published to the live feed', registers: [registry] }),
    liveDropped: new Counter({
      name: 'ovr_alpr_live_messages_dropped_total',
      help: 'Live messages dropped because a client fell behind',
      registers: [registry],
    }),
    wsClients: new Gauge({ name: 'ovr_alpr_live_clients', help: 'Connected live-feed WebSocket clients', registers: [registry] }),
  };
}

/**
 * Per-camera pipeline numbers, read from the supervisor at scrape time. Totals are gauges, not
 * counters: a restarted camera worker starts its counts over.
 */
function cameraMetrics(registry: Registry, cameras: () => CameraOut[]): void {
  const specs: [string, string, (c: CameraOut) => number][] = [
    ['ovr_alpr_camera_up', 'Camera running (1) or not (0)', (c) => (c.state === 'running' ? 1 : 0)],
    ['ovr_alpr_camera_fps_in', 'Frames per second decoded', (c) => c.fps_in],
    ['ovr_alpr_camera_fps_out', 'Frames per second processed', (c) => c.fps_out],
    ['ovr_alpr_camera_frames', 'Frames processed by the current worker', (c) => c.frames],
    ['ovr_alpr_camera_dropped_frames', 'Frames dropped because processing fell behind', (c) => c.dropped],
    ['ovr_alpr_camera_decode_errors', 'Decoder errors', (c) => c.decode_errors],
    ['ovr_alpr_camera_reconnects', 'Source reconnects', (c) => c.reconnects],
    ['ovr_alpr_camera_restarts', 'Worker restarts by the supervisor', (c) => c.restarts],
    ['ovr_alpr_camera_events', 'Plate events emitted by the current worker', (c) => c.events],
  ];
  for (const [name, help, value] of specs) {
    new Gauge({
      name,
      help,
      labelNames: ['camera'],
      registers: [registry],
      collect() {
        this.reset();
        for (const c of cameras()) this.set({ camera: c.id }, value(c));
      },
    });
  }
}
