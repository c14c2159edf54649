/** Kafka backend connection (config/bus.yaml): edit, save, test. Credentials stay in the environment. */
import { useEffect, useState } from 'react';
import { ApiRequestError, errorText } from '../../api/client';
import { getBackend, saveBackend, testBackend, type BackendCheck } from '../../api/settings';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Spinner } from '../../components/Spinner';
import { useApi } from '../../components/useApi';
import { isNoSettings, NoSettings } from './NoSettings';

interface Form {
  enabled: boolean;
  brokers: string;
  format: 'avro' | 'json';
  schema_registry_url: string;
  topic: string;
}

export function BackendPanel() {
  const { data, error, loading, reload } = useApi((signal) => getBackend(signal), []);
  const [form, setForm] = useState<Form | null>(null);
  const [issues, setIssues] = useState<Record<string, string>>({});
  const [status, setStatus] = useState<string | null>(null);
  const [check, setCheck] = useState<BackendCheck | null>(null);
  const [busy, setBusy] = useState<'save' | 'test' | null>(null);
  useEffect(() => {
    if (!data) return;
    const c = data.config;
    setForm({
      enabled: c.enabled === true,
      brokers: Array.isArray(c.brokers) ? (c.brokers as string[]).join(', ') : '127.0.0.1:9092',
      format: c.format === 'json' ? 'json' : 'avro',
      schema_registry_url: typeof c.schema_registry_url === 'string' ? c.schema_registry_url : '',
      topic: typeof c.topic === 'string' ? c.topic : 'alpr.plates.detected',
    });
  }, [data]);

  const brokers = (f: Form) =>
    f.brokers
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean);
  const body = (f: Form) => ({
    ...(data?.config ?? {}),
    enabled: f.enabled,
    brokers: brokers(f),
    format: f.format,
    topic: f.topic.trim(),
    ...(f.schema_registry_url.trim() ? { schema_registry_url: f.schema_registry_url.trim() } : { schema_registry_url: undefined }),
  });
  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    if (!form) return;
    setBusy('save');
    setIssues({});
    setStatus(null);
    try {
      const b = Object.fromEntries(Object.entries(body(form)).filter(([, v]) => v !== undefined));
      const r = await saveBackend(b);
      setStatus(`Saved to ${r.file}. Restart ovr-alpr serve to apply.`);
    } catch (err) {
      if (err instanceof ApiRequestError) setIssues(Object.fromEntries(err.issues.map((i) => [i.path.split('.')[0], i.message])));
      setStatus(`Not saved: ${errorText(err)}`);
    } finally {
      setBusy(null);
    }
  };
  const test = async () => {
    if (!form) return;
    setBusy('test');
    setCheck(null);
    try {
      setCheck(
        await testBackend({ brokers: brokers(form), topic: form.topic.trim() || undefined, schema_registry_url: form.schema_registry_url.trim() || undefined }),
      );
    } catch (err) {
      setStatus(`Test failed: ${errorText(err)}`);
    } finally {
      setBusy(null);
    }
  };
  const err = (k: string) => issues[k] && <span className="field-error">{issues[k]}</span>;

  return (
    <section className="card settings-section" aria-labelledby="backend-settings-h">
      <h2 id="backend-settings-h">Backend connection</h2>
      {isNoSettings(error) ? <NoSettings /> : error ? <ErrorMessage error={error} title="Cannot load backend settings" onRetry={reload} /> : null}
      {loading && !data && <Spinner />}
      {data && data.env_overrides.length > 0 && <p className="muted">Overridden by the environment: {data.env_overrides.join(', ')}.</p>}
      {data?.error && <p className="danger-text">{data.error}</p>}
      {form && (
        <form onSubmit={save} noValidate>
          <label className="inline">
            <input type="checkbox" name="bus_enabled" checked={form.enabled} onChange={(e) => setForm({ ...form, enabled: e.target.checked })} />
            Publish events to Kafka (through the durable outbox)
          </label>
          <div className="form-grid">
            <label>
              Brokers (host:port, comma separated)
              <input
                name="brokers"
                value={form.brokers}
                onChange={(e) => setForm({ ...form, brokers: e.target.value })}
                aria-invalid={issues.brokers ? true : undefined}
              />
              {err('brokers')}
            </label>
            <label>
              Format
              <select name="format" value={form.format} onChange={(e) => setForm({ ...form, format: e.target.value as Form['format'] })}>
                <option value="avro">avro (schema registry)</option>
                <option value="json">json</option>
              </select>
            </label>
            <label>
              Schema registry URL
              <input
                name="schema_registry_url"
                value={form.schema_registry_url}
                placeholder="http://127.0.0.1:8081/apis/ccompat/v7"
                onChange={(e) => setForm({ ...form, schema_registry_url: e.target.value })}
                aria-invalid={issues.schema_registry_url ? true : undefined}
              />
              {err('schema_registry_url')}
            </label>
            <label>
              Topic
              <input
                name="topic"
                value={form.topic}
                onChange={(e) => setForm({ ...form, topic: e.target.value })}
                aria-invalid={issues.topic ? true : undefined}
              />
              {err('topic')}
            </label>
          </div>
          <div className="actions">
            <button type="submit" className="primary" disabled={busy !== null}>
              Save backend
            </button>
            <button type="button" onClick={() => void test()} disabled={busy !== null}>
              Test connection
            </button>
            {busy === 'test' && <Spinner label="Testing Kafka and the registry…" delayMs={0} />}
            {status && <span role="status">{status}</span>}
          </div>
          {check && (
            <ul className="check-list" role="status" data-testid="backend-check">
              <li className={check.kafka.ok ? 'ok-text' : 'danger-text'}>
                {check.kafka.ok
                  ? `Kafka: up, ${check.kafka.brokers} broker(s); topic ${check.kafka.topic_exists ? `has ${check.kafka.partitions} partition(s)` : 'does not exist yet'}${
                      check.kafka.consumer_lag != null ? `; storage consumer ${check.kafka.consumer_lag} behind` : ''
                    }`
                  : `Kafka: ${check.kafka.error}`}
              </li>
              <li className={!check.registry || check.registry.ok ? 'ok-text' : 'danger-text'}>
                {!check.registry
                  ? 'Schema registry: not configured'
                  : check.registry.ok
                    ? `Schema registry: up, ${check.registry.subjects ?? 0} subject(s)`
                    : `Schema registry: ${check.registry.error}`}
              </li>
            </ul>
          )}
        </form>
      )}
    </section>
  );
}
