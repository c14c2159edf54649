/**
 * Health: is every camera delivering, is the pipeline keeping up, is the store and the backend
 * up. Charts over a rolling window kept in the health store, and the current problems in words
 * at the top, because an operator should not have to read a chart to learn a camera is dead.
 */
import { useEffect, useMemo } from 'react';
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { EmptyState } from '../components/EmptyState';
import { ErrorMessage } from '../components/ErrorMessage';
import { Spinner } from '../components/Spinner';
import { startHealthPolling, useHealthStore } from '../stores/health';
import { currentProblems, eventsPerMinute, type Sample } from './health/problems';
import { DataTable } from '../components/DataTable';

const COLORS = ['#4ea1ff', '#ffd166', '#3fbf7f', '#ff6b6b', '#c792ea', '#f78c6c', '#89ddff', '#c3e88d'];
const AXIS = { stroke: 'var(--text-muted)', fontSize: 11 };
const TOOLTIP = { contentStyle: { background: 'var(--bg-raised)', border: '1px solid var(--border)', color: 'var(--text)' } };

const SERVICE_NAMES = { database: 'Database', kafka: 'Kafka', schema_registry: 'Schema registry', s3: 'S3' } as const;

const clock = (t: number) => new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** One row per sample with a column per camera: the shape recharts wants for one line per camera. */
function perCamera(samples: readonly Sample[], ids: string[], value: (s: Sample, i: number, id: string) => number | null) {
  return samples.map((s, i) => {
    const row: Record<string, number | string | null> = { t: clock(s.at) };
    for (const id of ids) row[id] = value(s, i, id);
    return row;
  });
}

function Chart({ title, children }: { title: string; children: React.ReactElement }) {
  return (
    <section className="card health-chart" aria-label={title}>
      <h2>{title}</h2>
      <div className="health-chart-body">
        <ResponsiveContainer width="100%" height="100%">
          {children}
        </ResponsiveContainer>
      </div>
    </section>
  );
}

/** One line per camera over the sampled window; `integers` for counts, `connectNulls` to bridge samples a camera missed. */
function CameraLines({
  title,
  data,
  ids,
  integers = false,
  connectNulls = false,
}: {
  title: string;
  data: ReturnType<typeof perCamera>;
  ids: string[];
  integers?: boolean;
  connectNulls?: boolean;
}) {
  return (
    <Chart title={title}>
      <LineChart data={data}>
        <CartesianGrid stroke="var(--border)" strokeDasharray="3 3" />
        <XAxis dataKey="t" tick={AXIS} minTickGap={40} />
        <YAxis tick={AXIS} width={36} allowDecimals={!integers} />
        <Tooltip {...TOOLTIP} />
        <Legend />
        {ids.map((id, i) => (
          <Line key={id} dataKey={id} stroke={COLORS[i % COLORS.length]} dot={false} isAnimationActive={false} connectNulls={connectNulls} />
        ))}
      </LineChart>
    </Chart>
  );
}

export function HealthScreen() {
  const samples = useHealthStore((s) => s.samples);
  const error = useHealthStore((s) => s.error);
  const pipeline = useHealthStore((s) => s.pipeline);
  useEffect(() => startHealthPolling(), []);

  const last = samples.at(-1);
  const ids = useMemo(() => [...new Set(samples.flatMap((s) => s.cameras.map((c) => c.id)))], [samples]);
  const problems = useMemo(() => currentProblems(samples, error), [samples, error]);
  const cam = (s: Sample, id: string) => s.cameras.find((c) => c.id === id);

  const fps = perCamera(samples, ids, (s, _i, id) => cam(s, id)?.fps_in ?? null);
  const drops = perCamera(samples, ids, (s, i, id) => {
    const now = cam(s, id);
    const before = i > 0 ? cam(samples[i - 1], id) : undefined;
    return now && before ? Math.max(0, now.dropped - before.dropped) : null;
  });
  const queues = perCamera(samples, ids, (s, _i, id) => cam(s, id)?.queue_depth ?? null);
  const epm = eventsPerMinute(samples).map((e) => ({ t: clock(e.at), epm: Math.round(e.epm * 10) / 10 }));
  const stages = [...new Set((last?.cameras ?? []).flatMap((c) => Object.keys(c.stage_ms ?? {})))];
  const stageRows = (last?.cameras ?? []).map((c) => ({ camera: c.id, ...(c.stage_ms ?? {}) }));
  const backend = last?.backend;

  return (
    <section className="screen health-screen">
      <header className="screen-header">
        <h1 tabIndex={-1}>Health</h1>
        {last?.health && (
          <span className="muted">
            {last.health.storage} store {last.health.database === 'ok' ? 'up' : 'DOWN'} · version {last.health.version} · up{' '}
            {Math.round(last.health.uptime_s / 60)} min · {last.health.live_clients} live client{last.health.live_clients === 1 ? '' : 's'}
          </span>
        )}
      </header>

      <section className="card health-problems" aria-labelledby="problems-h">
        <h2 id="problems-h">Current problems</h2>
        {!last && !error ? (
          <Spinner label="Collecting the first sample…" />
        ) : problems.length === 0 ? (
          <p className="ok-text" role="status">
            No problems: every camera is delivering frames and the services answer.
          </p>
        ) : (
          <ul className="problem-list">
            {problems.map((p) => (
              <li key={p.text} className={`problem problem-${p.severity}`}>
                {p.text}
              </li>
            ))}
          </ul>
        )}
      </section>
      {error && !last && <ErrorMessage error={new Error(error)} title="Cannot load health" />}

      {pipeline === false && <EmptyState title="This server runs no pipeline">Camera charts appear when `ovr-alpr serve` runs cameras.</EmptyState>}
      {pipeline && ids.length === 0 && <EmptyState title="No cameras configured">Add a camera under Settings.</EmptyState>}

      {ids.length > 0 && (
        <DataTable
          className="health-cameras"
          columns={['Camera', 'State', 'fps in / out', 'Frames', 'Dropped', 'Queue', 'Tracks', 'Events', 'Restarts', 'Size']}
        >
          {(last?.cameras ?? []).map((c) => (
            <tr key={c.id}>
              <td>{c.id}</td>
              <td>
                <span className={`badge ${c.state === 'running' ? 'ok' : c.state === 'failed' ? 'danger' : 'warn'}`}>{c.state}</span>
              </td>
              <td>
                {c.fps_in} / {c.fps_out}
              </td>
              <td>{c.frames}</td>
              <td>{c.dropped}</td>
              <td>{c.queue_depth ?? '–'}</td>
              <td>{c.tracks}</td>
              <td>{c.events}</td>
              <td>{c.restarts}</td>
              <td>{c.width && c.height ? `${c.width}×${c.height}` : '–'}</td>
            </tr>
          ))}
        </DataTable>
      )}

      <div className="health-grid">
        {ids.length > 0 && <CameraLines title="Frames per second (decoded)" data={fps} ids={ids} connectNulls />}
        {ids.length > 0 && <CameraLines title="Frames dropped per sample" data={drops} ids={ids} integers />}
        {stages.length > 0 && (
          <Chart title="Stage latency, median ms">
            <BarChart data={stageRows}>
              <CartesianGrid stroke="var(--border)" strokeDasharray="3 3" />
              <XAxis dataKey="camera" tick={AXIS} />
              <YAxis tick={AXIS} width={36} />
              <Tooltip {...TOOLTIP} />
              <Legend />
              {stages.map((st, i) => (
                <Bar key={st} dataKey={st} stackId="stages" fill={COLORS[i % COLORS.length]} isAnimationActive={false} />
              ))}
            </BarChart>
          </Chart>
        )}
        <Chart title="Events per minute">
          <LineChart data={epm}>
            <CartesianGrid stroke="var(--border)" strokeDasharray="3 3" />
            <XAxis dataKey="t" tick={AXIS} minTickGap={40} />
            <YAxis tick={AXIS} width={36} />
            <Tooltip {...TOOLTIP} />
            <Line dataKey="epm" name="events/min" stroke={COLORS[2]} dot={false} isAnimationActive={false} />
          </LineChart>
        </Chart>
        {ids.length > 0 && <CameraLines title="Queue depth (frames waiting)" data={queues} ids={ids} integers />}
        <section className="card" aria-labelledby="backend-h">
          <h2 id="backend-h">Services</h2>
          <dl className="kv">
            {(['database', 'kafka', 'schema_registry', 's3'] as const).map((key) => {
              const c = last?.health?.components?.[key];
              if (!c) return null;
              return (
                <div key={key} className="kv-row">
                  <dt>{SERVICE_NAMES[key]}</dt>
                  <dd className={c.status === 'down' ? 'danger-text' : c.status === 'ok' ? 'ok-text' : 'muted'}>
                    {c.status === 'not_configured'
                      ? 'not configured'
                      : c.status === 'ok'
                        ? `up${c.latency_ms !== null ? ` (${Math.round(c.latency_ms)} ms)` : ''}`
                        : `down${c.error ? `: ${c.error}` : ''}`}
                    {c.target && <span className="muted small"> {c.target}</span>}
                  </dd>
                </div>
              );
            })}
            {last?.health?.image_uploads && (
              <div className="kv-row">
                <dt>S3 uploads waiting</dt>
                <dd>{last.health.image_uploads.pending}</dd>
              </div>
            )}
            {backend?.enabled && backend.check?.kafka.ok && (
              <>
                <div className="kv-row">
                  <dt>Kafka topic</dt>
                  <dd>{backend.check.kafka.topic_exists ? `${backend.check.kafka.partitions} partition(s)` : 'not created yet'}</dd>
                </div>
                <div className="kv-row">
                  <dt>Consumer lag</dt>
                  <dd>{backend.check.kafka.consumer_lag ?? 'no consumer has committed yet'}</dd>
                </div>
              </>
            )}
          </dl>
          {backend && !backend.enabled && (
            <p className="muted">Kafka publishing is off (embedded store only). Turn it on under Settings → Backend connection.</p>
          )}
          {backend?.error && <p className="danger-text">{backend.error}</p>}
        </section>
      </div>
    </section>
  );
}
