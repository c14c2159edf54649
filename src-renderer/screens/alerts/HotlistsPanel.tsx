/** Hotlists: create/delete lists, add/remove plates with expiry, CSV import (dry run first, errors previewed), export. */
import { useState } from 'react';
import { HOTLIST_PRIORITIES, type HotlistPriority } from '../../../src-pipeline/common/alert-rules';
import { addEntry, createHotlist, deleteHotlist, exportCsvUrl, importCsv, listEntries, listHotlists, removeEntry, type ImportResult } from '../../api/alerts';
import { ApiRequestError, errorText } from '../../api/client';
import { EmptyState } from '../../components/EmptyState';
import { OffsetPager } from '../../components/OffsetPager';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Spinner } from '../../components/Spinner';
import { useApi } from '../../components/useApi';
import { isNoAlerts, NoAlerts } from './NoAlerts';
import { previewCsv } from './csv-preview';
import { DataTable } from '../../components/DataTable';

const PAGE = 50;

function Entries({ name, onChanged }: { name: string; onChanged: () => void }) {
  const [q, setQ] = useState('');
  const [offset, setOffset] = useState(0);
  const { data, error, loading, reload } = useApi((signal) => listEntries(name, { q, limit: PAGE, offset }, signal), [name, q, offset]);
  const [plate, setPlate] = useState('');
  const [reason, setReason] = useState('');
  const [expires, setExpires] = useState('');
  const [formError, setFormError] = useState<string | null>(null);
  const [csv, setCsv] = useState('');
  const [dry, setDry] = useState<ImportResult | null>(null);
  const [importing, setImporting] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const local = csv.trim() ? previewCsv(csv) : null;
  // A dry run imports nothing, so its count is the preview's (which the API caps at 20 rows).
  const wouldImport = dry ? `${dry.imported || dry.preview.length}${!dry.imported && dry.preview.length >= 20 ? '+' : ''}` : '';

  const add = async (e: React.FormEvent) => {
    e.preventDefault();
    setFormError(null);
    try {
      await addEntry(name, { plate, reason: reason.trim() || undefined, expires_at: expires ? new Date(expires).toISOString() : undefined });
      setPlate('');
      setReason('');
      setExpires('');
      reload();
      onChanged();
    } catch (err) {
      setFormError(err instanceof ApiRequestError && err.issues.length ? err.issues.map((i) => `${i.path}: ${i.message}`).join('; ') : errorText(err));
    }
  };
  const remove = async (p: string) => {
    try {
      await removeEntry(name, p);
      reload();
      onChanged();
    } catch (err) {
      setNotice(errorText(err));
    }
  };
  const runImport = async (dryRun: boolean) => {
    setImporting(true);
    setNotice(null);
    try {
      const r = await importCsv(name, csv, dryRun);
      if (dryRun) setDry(r);
      else {
        setDry(null);
        setCsv('');
        setNotice(`Imported ${r.imported} plate(s), skipped ${r.skipped}${r.errors.length ? `, ${r.errors.length} line(s) with errors` : ''}.`);
        reload();
        onChanged();
      }
    } catch (err) {
      setNotice(`Import failed: ${errorText(err)}`);
    } finally {
      setImporting(false);
    }
  };
  const readFile = async (f: File | undefined) => {
    if (!f) return;
    setCsv(await f.text());
    setDry(null);
  };

  return (
    <div className="hotlist-entries">
      <form className="form-row" onSubmit={add} noValidate>
        <label>
          Plate
          <input name="entry-plate" value={plate} onChange={(e) => setPlate(e.target.value)} required />
        </label>
        <label>
          Reason
          <input name="entry-reason" value={reason} onChange={(e) => setReason(e.target.value)} />
        </label>
        <label>
          Expires
          <input name="entry-expires" type="datetime-local" value={expires} onChange={(e) => setExpires(e.target.value)} />
        </label>
        <button type="submit" className="primary" disabled={!plate.trim()}>
          Add plate
        </button>
      </form>
      {formError && <p className="field-error">{formError}</p>}
      {notice && <p role="status">{notice}</p>}

      <div className="actions">
        <label>
          Find
          <input type="search" value={q} onChange={(e) => (setQ(e.target.value), setOffset(0))} placeholder="plate" />
        </label>
        <a className="button" href={exportCsvUrl(name)} download={`${name}.csv`}>
          Export CSV
        </a>
      </div>
      {error ? <ErrorMessage error={error} title="Cannot load entries" onRetry={reload} /> : null}
      {loading && !data && <Spinner />}
      {data && data.items.length === 0 && (
        <EmptyState title={q ? 'No plate matches' : 'This hotlist is empty'}>Add plates one by one or import a CSV.</EmptyState>
      )}
      {data && data.items.length > 0 && (
        <>
          <DataTable columns={['Plate', 'Reason', 'Expires', 'Added', { hidden: 'Remove' }]}>
            {data.items.map((e) => {
              const expired = e.expires_at !== undefined && new Date(e.expires_at).getTime() < Date.now();
              return (
                <tr key={e.plate} className={expired ? 'expired' : undefined}>
                  <td>
                    <span className="plate-text">{e.plate}</span>
                  </td>
                  <td>{e.reason ?? ''}</td>
                  <td>{e.expires_at ? `${new Date(e.expires_at).toLocaleString()}${expired ? ' (expired)' : ''}` : 'never'}</td>
                  <td>{new Date(e.added_at).toLocaleString()}</td>
                  <td>
                    <button type="button" className="danger" onClick={() => void remove(e.plate)} aria-label={`Remove ${e.plate}`}>
                      Remove
                    </button>
                  </td>
                </tr>
              );
            })}
          </DataTable>
          <OffsetPager offset={offset} pageSize={PAGE} shown={data.items.length} total={data.total} onOffset={setOffset} />
        </>
      )}

      <details className="csv-import">
        <summary>Import CSV (columns plate, reason, expires_at)</summary>
        <input type="file" accept=".csv,text/csv" onChange={(e) => void readFile(e.target.files?.[0])} aria-label="CSV file" />
        <textarea
          name="csv"
          rows={5}
          value={csv}
          onChange={(e) => (setCsv(e.target.value), setDry(null))}
          placeholder={'plate,reason,expires_at\nAB12CDE,stolen,2030-01-01T00:00:00Z'}
          aria-label="CSV text"
        />
        {local && (
          <p className={local.errors ? 'danger-text' : 'muted'}>
            {local.rows.length} row(s) read here{local.errors ? `, ${local.errors} with errors:` : ', no errors found.'}
          </p>
        )}
        {local && local.errors > 0 && (
          <ul className="csv-errors">
            {local.rows
              .filter((r) => r.error)
              .slice(0, 20)
              .map((r) => (
                <li key={r.line}>
                  line {r.line}: {r.error}
                </li>
              ))}
          </ul>
        )}
        <div className="actions">
          <button type="button" onClick={() => void runImport(true)} disabled={!csv.trim() || importing}>
            Check (dry run)
          </button>
          <button type="button" className="primary" onClick={() => void runImport(false)} disabled={!dry || importing}>
            Import {dry ? `${wouldImport} plate(s)` : ''}
          </button>
          {importing && <Spinner label="Importing…" />}
        </div>
        {dry && (
          <div className="dry-run" role="status">
            <p>
              The server would import {wouldImport}, skip {dry.skipped}
              {dry.errors.length ? `, and reject ${dry.errors.length} line(s):` : '.'}
            </p>
            {dry.errors.length > 0 && (
              <ul className="csv-errors">
                {dry.errors.slice(0, 50).map((e) => (
                  <li key={`${e.line}-${e.message}`}>
                    line {e.line}: {e.message}
                  </li>
                ))}
              </ul>
            )}
            {dry.preview.length > 0 && (
              <p className="muted">
                First plates:{' '}
                {dry.preview
                  .slice(0, 10)
                  .map((p) => p.plate)
                  .join(', ')}
              </p>
            )}
          </div>
        )}
      </details>
    </div>
  );
}

export function HotlistsPanel() {
  const { data, error, loading, reload } = useApi((signal) => listHotlists(signal), []);
  const [open, setOpen] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [priority, setPriority] = useState<HotlistPriority>('medium');
  const [reason, setReason] = useState('');
  const [formError, setFormError] = useState<string | null>(null);

  const create = async (e: React.FormEvent) => {
    e.preventDefault();
    setFormError(null);
    try {
      await createHotlist({ name: name.trim(), priority, reason: reason.trim() || undefined });
      setOpen(name.trim());
      setName('');
      setReason('');
      reload();
    } catch (err) {
      setFormError(errorText(err));
    }
  };
  const remove = async (n: string) => {
    if (!window.confirm(`Delete hotlist ${n} and all its plates?`)) return;
    try {
      await deleteHotlist(n);
      if (open === n) setOpen(null);
      reload();
    } catch (err) {
      setFormError(errorText(err));
    }
  };

  return (
    <section className="card alerts-section" aria-labelledby="hotlists-h">
      <h2 id="hotlists-h">Hotlists</h2>
      <form className="form-row" onSubmit={create} noValidate>
        <label>
          New hotlist
          <input name="hotlist-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="stolen" />
        </label>
        <label>
          Priority
          <select name="hotlist-priority" value={priority} onChange={(e) => setPriority(e.target.value as HotlistPriority)}>
            {HOTLIST_PRIORITIES.map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
        </label>
        <label>
          Reason
          <input name="hotlist-reason" value={reason} onChange={(e) => setReason(e.target.value)} />
        </label>
        <button type="submit" disabled={!name.trim()}>
          Create hotlist
        </button>
      </form>
      {formError && <p className="field-error">{formError}</p>}
      {isNoAlerts(error) ? <NoAlerts /> : error ? <ErrorMessage error={error} title="Cannot load hotlists" onRetry={reload} /> : null}
      {loading && !data && <Spinner />}
      {data && data.hotlists.length === 0 && (
        <EmptyState title="No hotlists">A hotlist is a list of plates a rule can watch for (stolen, wanted, VIP…).</EmptyState>
      )}
      {data &&
        data.hotlists.map((h) => (
          <div key={h.name} className="hotlist">
            <div className="hotlist-head">
              <button type="button" className="link" aria-expanded={open === h.name} onClick={() => setOpen(open === h.name ? null : h.name)}>
                {open === h.name ? '▾' : '▸'} {h.name}
              </button>
              <span className={`badge priority-${h.priority}`}>{h.priority}</span>
              <span className="muted">
                {h.size} plate{h.size === 1 ? '' : 's'}
                {h.reason ? ` · ${h.reason}` : ''}
              </span>
              <button type="button" className="danger" onClick={() => void remove(h.name)}>
                Delete
              </button>
            </div>
            {open === h.name && <Entries name={h.name} onChanged={reload} />}
          </div>
        ))}
    </section>
  );
}
