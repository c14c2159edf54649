/** Retention and privacy options (settings.yaml in the data dir), applied at the next start of serve. */
import { useEffect, useState } from 'react';
import { ApiRequestError, errorText } from '../../api/client';
import { getRetention, saveRetention, type ConsoleSettings } from '../../api/settings';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Spinner } from '../../components/Spinner';
import { useApi } from '../../components/useApi';
import { isNoSettings, NoSettings } from './NoSettings';

interface Form {
  max_age_days: string;
  max_events: string;
  max_image_mb: string;
  interval_min: string;
  hash_plates: boolean;
}

const s = (n: number | null) => (n === null ? '' : String(n));
const n = (v: string) => (v.trim() === '' ? null : Number(v));

/** Form → settings; an empty box means "no limit". */
function retentionFromForm(f: Form): ConsoleSettings {
  return {
    retention: { max_age_days: n(f.max_age_days), max_events: n(f.max_events), max_image_mb: n(f.max_image_mb), interval_min: n(f.interval_min) ?? 60 },
    privacy: { hash_plates: f.hash_plates },
  };
}

export function RetentionPanel() {
  const { data, error, loading, reload } = useApi((signal) => getRetention(signal), []);
  const [form, setForm] = useState<Form | null>(null);
  const [issues, setIssues] = useState<Record<string, string>>({});
  const [status, setStatus] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  useEffect(() => {
    if (!data) return;
    const r = data.settings.retention;
    setForm({
      max_age_days: s(r.max_age_days),
      max_events: s(r.max_events),
      max_image_mb: s(r.max_image_mb),
      interval_min: String(r.interval_min),
      hash_plates: data.settings.privacy.hash_plates,
    });
  }, [data]);

  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    if (!form) return;
    setSaving(true);
    setStatus(null);
    setIssues({});
    try {
      const r = await saveRetention(retentionFromForm(form));
      setStatus(
        `Saved to ${r.file}. Restart ovr-alpr serve to apply.${r.overridden_by_flags ? ' Note: this server was started with --retention flags, which win over the file.' : ''}`,
      );
    } catch (err) {
      if (err instanceof ApiRequestError) setIssues(Object.fromEntries(err.issues.map((i) => [i.path.split('.').pop() ?? i.path, i.message])));
      setStatus(`Not saved: ${errorText(err)}`);
    } finally {
      setSaving(false);
    }
  };
  const field = (k: keyof Omit<Form, 'hash_plates'>, label: string, placeholder: string) => (
    <label>
      {label}
      <input
        name={k}
        inputMode="decimal"
        value={form?.[k] ?? ''}
        placeholder={placeholder}
        onChange={(e) => setForm((f) => f && { ...f, [k]: e.target.value })}
        aria-invalid={issues[k] ? true : undefined}
      />
      {issues[k] && <span className="field-error">{issues[k]}</span>}
    </label>
  );

  return (
    <section className="card settings-section" aria-labelledby="retention-h">
      <h2 id="retention-h">Retention and privacy</h2>
      {isNoSettings(error) ? <NoSettings /> : error ? <ErrorMessage error={error} title="Cannot load retention settings" onRetry={reload} /> : null}
      {loading && !data && <Spinner />}
      {form && (
        <form onSubmit={save} noValidate>
          <div className="form-grid">
            {field('max_age_days', 'Keep events for (days)', 'forever')}
            {field('max_events', 'Keep at most (events)', 'no limit')}
            {field('max_image_mb', 'Images up to (MB)', 'no limit')}
            {field('interval_min', 'Clean up every (minutes)', '60')}
          </div>
          <label className="inline privacy-toggle">
            <input type="checkbox" name="hash_plates" checked={form.hash_plates} onChange={(e) => setForm({ ...form, hash_plates: e.target.checked })} />
            Store plates only as a keyed hash (exact lookups still work; partial and fuzzy search do not)
          </label>
          <div className="actions">
            <button type="submit" className="primary" disabled={saving}>
              Save retention
            </button>
            {status && <span role="status">{status}</span>}
          </div>
        </form>
      )}
    </section>
  );
}
