/**
 * Search: plate (exact, partial with * and ?, or fuzzy look-alikes), camera, site, time range,
 * minimum confidence, vehicle type, direction and review state. The filters live in the URL
 * (#/search?plate=…), so a search can be bookmarked, shared and reloaded.
 */
import { useEffect, useMemo, useState } from 'react';
import { TRAVEL_DIRECTIONS, type StoredEvent } from '../../src-pipeline/common/plate-event';
import { apiGet, authedUrl, ApiRequestError } from '../api/client';
import type { CamerasAnswer, EventList, FuzzyAnswer } from '../api/types';
import { EmptyState } from '../components/EmptyState';
import { ErrorMessage } from '../components/ErrorMessage';
import { PlateThumb } from '../components/PlateThumb';
import { Spinner } from '../components/Spinner';
import { useApi } from '../components/useApi';
import { confClass, formatDateTime, percent, shownPlate, vehicleText } from '../lib/format';
import { hrefFor, navigate } from '../router';
import { DataTable } from '../components/DataTable';

const PAGE = 50;
const FIELDS = [
  'plate',
  'fuzzy',
  'camera',
  'site',
  'start',
  'end',
  'min_confidence',
  'vehicle_type',
  'direction',
  'reviewed',
  'page',
  'sort',
  'order',
] as const;
type Field = (typeof FIELDS)[number];
type Filters = Partial<Record<Field, string>>;

function fromQuery(q: URLSearchParams): Filters {
  const f: Filters = {};
  for (const k of FIELDS) {
    const v = q.get(k);
    if (v) f[k] = v;
  }
  return f;
}

/** datetime-local (local time, no zone) → ISO with zone, as the API wants. */
function localToIso(v: string | undefined): string | undefined {
  if (!v) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** The API query for the filters (the page becomes an offset in Results). */
function apiQuery(f: Filters): Record<string, string | undefined> {
  return {
    plate: f.fuzzy ? undefined : f.plate,
    camera: f.camera,
    site: f.site,
    start_time: localToIso(f.start),
    end_time: localToIso(f.end),
    min_confidence: f.min_confidence ? String(Number(f.min_confidence) / 100) : undefined,
    vehicle_type: f.vehicle_type,
    direction: f.direction,
    reviewed: f.reviewed,
    sort: f.sort,
    order: f.order,
  };
}

type SortKey = 'captured_at' | 'plate' | 'confidence' | 'camera';
/** The API's default direction per sort (time and confidence: highest first). */
const DEFAULT_ORDER: Record<SortKey, 'asc' | 'desc'> = { captured_at: 'desc', confidence: 'desc', plate: 'asc', camera: 'asc' };

export function SearchScreen({ query }: { query: URLSearchParams }) {
  const applied = useMemo(() => fromQuery(query), [query.toString()]);
  const [draft, setDraft] = useState<Filters>(applied);
  useEffect(() => setDraft(applied), [applied]);
  const cameras = useApi((signal) => apiGet<CamerasAnswer>('/cameras', undefined, signal), []);

  const set = (k: Field, v: string) => setDraft((d) => ({ ...d, [k]: v || undefined }));
  const submit = (f: Filters) => navigate('search', [], { ...f, page: undefined } as Record<string, string | undefined>);
  const searched = Object.keys(applied).some((k) => k !== 'page' && k !== 'sort');

  return (
    <section aria-labelledby="search-title">
      <div className="screen-header">
        <h1 id="search-title" tabIndex={-1}>
          Search
        </h1>
      </div>
      <form
        className="card form-grid"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          submit(draft);
        }}
      >
        <label>
          Plate (* any run, ? one character)
          <input name="plate" value={draft.plate ?? ''} onChange={(e) => set('plate', e.target.value)} placeholder="AB*12, *123, AB?123" autoFocus />
        </label>
        <label className="inline">
          <input type="checkbox" name="fuzzy" checked={draft.fuzzy === '1'} onChange={(e) => set('fuzzy', e.target.checked ? '1' : '')} />
          Look-alikes (fuzzy)
        </label>
        <label>
          Camera
          <input name="camera" list="search-cameras" value={draft.camera ?? ''} onChange={(e) => set('camera', e.target.value)} />
          <datalist id="search-cameras">
            {cameras.data?.cameras.map((c) => (
              <option key={c.id} value={c.id} />
            ))}
          </datalist>
        </label>
        <label>
          Site
          <input name="site" value={draft.site ?? ''} onChange={(e) => set('site', e.target.value)} />
        </label>
        <label>
          From
          <input type="datetime-local" name="start" step={1} value={draft.start ?? ''} onChange={(e) => set('start', e.target.value)} />
        </label>
        <label>
          Until
          <input type="datetime-local" name="end" step={1} value={draft.end ?? ''} onChange={(e) => set('end', e.target.value)} />
        </label>
        <label>
          Minimum confidence (%)
          <input
            type="number"
            name="min_confidence"
            min={0}
            max={100}
            step={1}
            value={draft.min_confidence ?? ''}
            onChange={(e) => set('min_confidence', e.target.value)}
          />
        </label>
        <label>
          Vehicle type
          <select name="vehicle_type" value={draft.vehicle_type ?? ''} onChange={(e) => set('vehicle_type', e.target.value)}>
            <option value="">any</option>
            <option value="car">car</option>
            <option value="truck">truck</option>
            <option value="bus">bus</option>
            <option value="motorcycle">motorcycle</option>
          </select>
        </label>
        <label>
          Direction
          <select name="direction" value={draft.direction ?? ''} onChange={(e) => set('direction', e.target.value)}>
            <option value="">any</option>
            {TRAVEL_DIRECTIONS.map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
        </label>
        <label>
          Review
          <select name="reviewed" value={draft.reviewed ?? ''} onChange={(e) => set('reviewed', e.target.value)}>
            <option value="">any</option>
            <option value="true">reviewed</option>
            <option value="false">not reviewed</option>
          </select>
        </label>
        <div className="actions">
          <button type="submit" className="primary">
            Search
          </button>
          <button
            type="button"
            onClick={() => {
              setDraft({});
              navigate('search');
            }}
          >
            Clear
          </button>
        </div>
      </form>
      {applied.fuzzy && applied.plate ? <FuzzyResults plate={applied.plate} /> : searched ? <Results filters={applied} /> : <RecentHint />}
    </section>
  );
}

function RecentHint() {
  return (
    <EmptyState title="Search the stored reads">
      Give a plate (exact, or a pattern such as <code>AB*</code> or <code>*123</code>) and/or any other filter. Corrected plates are found as well as the
      original reads.
    </EmptyState>
  );
}

function Results({ filters }: { filters: Filters }) {
  const page = Math.max(0, Number(filters.page ?? 0) || 0);
  const sort = (filters.sort ?? 'captured_at') as SortKey;
  const order = filters.order === 'asc' || filters.order === 'desc' ? filters.order : DEFAULT_ORDER[sort];
  const q = apiQuery(filters);
  const res = useApi((signal) => apiGet<EventList>('/events/search', { ...q, limit: PAGE, offset: page * PAGE }, signal), [JSON.stringify(q), page]);
  const rows: StoredEvent[] = res.data?.events ?? [];
  const go = (over: Filters) => navigate('search', [], { ...filters, ...over } as Record<string, string | undefined>);

  if (res.error !== undefined) {
    const field = res.error instanceof ApiRequestError ? res.error.field : undefined;
    return <ErrorMessage title={field ? `Check the filter "${field}"` : 'The search failed'} error={res.error} onRetry={res.reload} />;
  }
  // A click sorts by the column (the whole result, on the server); a second click reverses it.
  const header = (key: SortKey, label: string) => (
    <th aria-sort={sort === key ? (order === 'asc' ? 'ascending' : 'descending') : 'none'}>
      <button
        type="button"
        onClick={() => go({ sort: key, order: sort === key ? (order === 'asc' ? 'desc' : 'asc') : DEFAULT_ORDER[key], page: undefined })}
        title={`Sort by ${label.toLowerCase()}`}
      >
        {label}
        {sort === key ? (order === 'asc' ? ' ▴' : ' ▾') : ''}
      </button>
    </th>
  );
  return (
    <div style={{ marginTop: '1rem' }}>
      <div className="actions" style={{ justifyContent: 'space-between' }}>
        <span className="muted" role="status">
          {res.loading
            ? 'Searching…'
            : `${rows.length === 0 ? 'No' : page * PAGE + 1 + '–' + (page * PAGE + rows.length)} results${rows.length === PAGE ? ' (more on the next page)' : ''}`}
        </span>
        <a className="button" href={authedUrl('/events/search.csv', q)} download>
          Export CSV (all matches)
        </a>
      </div>
      {res.loading && !res.data && <Spinner label="Searching…" />}
      {res.data && rows.length === 0 && (
        <EmptyState title="Nothing matches">Widen the time range, drop a filter, or try a pattern (AB*) or look-alikes.</EmptyState>
      )}
      {rows.length > 0 && (
        <table className="data" data-testid="search-results">
          <thead>
            <tr>
              <th>Image</th>
              {header('plate', 'Plate')}
              {header('confidence', 'Confidence')}
              {header('camera', 'Camera')}
              <th>Site</th>
              {header('captured_at', 'Captured')}
              <th>Direction</th>
              <th>Vehicle</th>
              <th>Review</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((e) => (
              <tr key={e.event_id} data-event-id={e.event_id}>
                <td>
                  <PlateThumb url={e.images.plate_url} alt={`plate ${e.plate.text}`} />
                </td>
                <td>
                  <a href={hrefFor('events', [e.event_id])}>
                    <span className="plate-text">{shownPlate(e)}</span>
                  </a>
                  {e.review?.corrected_text && <div className="muted">read as {e.plate.text}</div>}
                </td>
                <td className={confClass(e.plate.confidence)}>{percent(e.plate.confidence)}</td>
                <td>{e.camera_id}</td>
                <td>{e.node.site ?? '—'}</td>
                <td>{formatDateTime(e.captured_at)}</td>
                <td>{e.extras.direction ?? '—'}</td>
                <td>{vehicleText(e)}</td>
                <td>
                  {e.review?.reviewed ? (
                    <span className="badge ok">reviewed</span>
                  ) : e.review?.corrected_text ? (
                    <span className="badge warn">corrected</span>
                  ) : (
                    ''
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav className="pager" aria-label="Result pages">
        <button type="button" disabled={page === 0} onClick={() => go({ page: String(page - 1) })}>
          Previous
        </button>
        <span>Page {page + 1}</span>
        <button type="button" disabled={rows.length < PAGE} onClick={() => go({ page: String(page + 1) })}>
          Next
        </button>
      </nav>
    </div>
  );
}

function FuzzyResults({ plate }: { plate: string }) {
  const res = useApi((signal) => apiGet<FuzzyAnswer>('/plates/fuzzy', { plate, limit: 50 }, signal), [plate]);
  if (res.error !== undefined) return <ErrorMessage title="The look-alike search failed" error={res.error} onRetry={res.reload} />;
  if (!res.data) return <Spinner label="Searching look-alikes…" />;
  if (res.data.matches.length === 0)
    return (
      <EmptyState title={`No plate looks like ${res.data.plate}`}>
        Look-alikes are plates one edit away or differing only in O/0, I/1, B/8, S/5, Z/2.
      </EmptyState>
    );
  const RANK = ['identical', 'look-alike', 'one edit'];
  return (
    <DataTable style={{ marginTop: '1rem' }} data-testid="fuzzy-results" columns={['Plate', 'Match', 'Events', 'Last seen']}>
      {res.data.matches.map((m) => (
        <tr key={m.plate}>
          <td>
            <a href={hrefFor('search', [], { plate: m.plate })}>
              <span className="plate-text">{m.plate}</span>
            </a>
          </td>
          <td>{RANK[m.rank] ?? m.rank}</td>
          <td>{m.events}</td>
          <td>{formatDateTime(m.last_seen)}</td>
        </tr>
      ))}
    </DataTable>
  );
}
