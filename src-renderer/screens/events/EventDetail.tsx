/**
 * One event: its images, facts, per-character confidences (when the pipeline recorded them),
 * other reads of the same vehicle track and plate, the operator's correction and review mark,
 * and the evidence export.
 */
import { useEffect, useState } from 'react';
import type { StoredEvent } from '../../../src-pipeline/common/plate-event';
import { apiGet, apiSend, authedUrl, errorText, ApiRequestError } from '../../api/client';
import type { EventList } from '../../api/types';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Spinner } from '../../components/Spinner';
import { useApi } from '../../components/useApi';
import { confClass, formatDateTime, imageSrc, percent, shownPlate, vehicleText } from '../../lib/format';
import { hrefFor } from '../../router';
import { replaceEvent } from '../../state/live-store';

const OPERATOR_KEY = 'ovr-alpr.operator';

export function EventDetail({ eventId }: { eventId: string }) {
  const ev = useApi((signal) => apiGet<StoredEvent>(`/events/${encodeURIComponent(eventId)}`, undefined, signal), [eventId]);
  const [event, setEvent] = useState<StoredEvent>();
  useEffect(() => setEvent(ev.data), [ev.data]);

  if (ev.error !== undefined && !event) {
    const missing = ev.error instanceof ApiRequestError && (ev.error.status === 404 || ev.error.status === 400);
    return (
      <section>
        <h1 tabIndex={-1}>Event</h1>
        <ErrorMessage title={missing ? 'No such event' : 'Cannot load the event'} error={ev.error} onRetry={ev.reload} />
        <a href={hrefFor('events')}>Back to the events</a>
      </section>
    );
  }
  if (!event) return <Spinner label="Loading the event…" />;
  const chars = charConfidences(event);
  return (
    <section aria-labelledby="event-title">
      <div className="screen-header">
        <h1 id="event-title" tabIndex={-1}>
          <span className="plate-text" data-testid="event-plate">
            {shownPlate(event)}
          </span>{' '}
          <span className={confClass(event.plate.confidence)}>{percent(event.plate.confidence)}</span>
        </h1>
        <div className="actions">
          <a className="button" href={hrefFor('events')}>
            All events
          </a>
          <a className="button" href={authedUrl(`/events/${event.event_id}/evidence.zip`)} download>
            Export evidence (.zip)
          </a>
        </div>
      </div>
      <div className="event-layout">
        <div>
          <div className="event-images">
            <Figure url={event.images.plate_url} caption="Plate" />
            <Figure url={event.images.vehicle_url} caption="Vehicle" />
            <Figure url={event.images.frame_url} caption="Frame" className="frame" />
          </div>
          <h2>Characters</h2>
          {chars ? (
            <div className="chars" aria-label="per-character confidence">
              {chars.map((c, i) => (
                <span key={i} className="char">
                  <b>{c.char}</b>
                  <small className={confClass(c.confidence)}>{percent(c.confidence)}</small>
                </span>
              ))}
            </div>
          ) : (
            <p className="muted">This event carries no per-character confidences (recorded by newer versions of the pipeline).</p>
          )}
          <OtherReads event={event} />
        </div>
        <div>
          <div className="card">
            <dl className="facts">
              <dt>Read</dt>
              <dd>
                <span className="plate-text">{event.plate.text}</span>
              </dd>
              <dt>Camera</dt>
              <dd>{event.camera_id}</dd>
              <dt>Site</dt>
              <dd>{event.node.site ?? '—'}</dd>
              <dt>Captured</dt>
              <dd>{formatDateTime(event.captured_at)}</dd>
              <dt>Direction</dt>
              <dd>{event.extras.direction ?? '—'}</dd>
              <dt>Vehicle</dt>
              <dd>{vehicleText(event)}</dd>
              <dt>Region</dt>
              <dd>{event.plate.region ?? '—'}</dd>
              <dt>Track</dt>
              <dd>{event.track_id ?? '—'}</dd>
              <dt>Quality</dt>
              <dd>{percent(event.extras.quality_score)}</dd>
              <dt>Latency</dt>
              <dd>{event.latency_ms === null ? '—' : `${Math.round(event.latency_ms)} ms`}</dd>
              <dt>Event id</dt>
              <dd className="mono">{event.event_id}</dd>
            </dl>
          </div>
          <ReviewPanel
            event={event}
            onSaved={(e) => {
              setEvent(e);
              replaceEvent(e);
            }}
          />
        </div>
      </div>
    </section>
  );
}

function Figure({ url, caption, className }: { url: string | null; caption: string; className?: string }) {
  const [failed, setFailed] = useState(false);
  const src = imageSrc(url);
  return (
    <figure className={className}>
      {src && !failed ? (
        <img src={src} alt={`${caption} image`} onError={() => setFailed(true)} />
      ) : (
        <div className="empty-state">No {caption.toLowerCase()} image</div>
      )}
      <figcaption className="muted">{caption}</figcaption>
    </figure>
  );
}

/** Per-character confidences, one per character of the normalised read, when the event carries them. */
function charConfidences(e: StoredEvent): { char: string; confidence: number }[] | null {
  const raw = e.extras.char_confidences;
  const chars = [...e.plate.normalized_text];
  if (!raw || raw.length === 0 || chars.length !== raw.length) return null;
  return chars.map((char, i) => ({ char, confidence: raw[i] }));
}

/** Other events of the same vehicle track (same camera, ±10 min) and earlier sightings of the plate. */
function OtherReads({ event }: { event: StoredEvent }) {
  const t = Date.parse(event.captured_at);
  const sameTrack = useApi(
    (signal) =>
      event.track_id
        ? apiGet<EventList>(
            '/events/search',
            { camera: event.camera_id, start_time: new Date(t - 600_000).toISOString(), end_time: new Date(t + 600_000).toISOString(), limit: 200 },
            signal,
          ).then((l) => l.events.filter((e) => e.track_id === event.track_id && e.event_id !== event.event_id))
        : Promise.resolve([]),
    [event.event_id],
  );
  const plate = event.plate.normalized_text.startsWith('#') ? null : event.plate.normalized_text;
  const samePlate = useApi(
    (signal) =>
      plate
        ? apiGet<EventList>(`/events/plate/${encodeURIComponent(plate)}`, { limit: 20 }, signal).then((l) =>
            l.events.filter((e) => e.event_id !== event.event_id),
          )
        : Promise.resolve([]),
    [event.event_id],
  );
  return (
    <>
      <h2>Other reads of this track</h2>
      {sameTrack.error !== undefined && <ErrorMessage error={sameTrack.error} onRetry={sameTrack.reload} />}
      {sameTrack.data && sameTrack.data.length === 0 && <p className="muted">None: the track made this one event.</p>}
      {sameTrack.data && sameTrack.data.length > 0 && <ReadList events={sameTrack.data} />}
      <h2>Other sightings of {plate ?? 'this plate'}</h2>
      {samePlate.error !== undefined && <ErrorMessage error={samePlate.error} onRetry={samePlate.reload} />}
      {samePlate.data && samePlate.data.length === 0 && <p className="muted">No other events with this plate.</p>}
      {samePlate.data && samePlate.data.length > 0 && <ReadList events={samePlate.data} />}
    </>
  );
}

function ReadList({ events }: { events: StoredEvent[] }) {
  return (
    <ul>
      {events.map((e) => (
        <li key={e.event_id}>
          <a href={hrefFor('events', [e.event_id])}>
            <span className="plate-text">{shownPlate(e)}</span> <span className={confClass(e.plate.confidence)}>{percent(e.plate.confidence)}</span> ·{' '}
            {e.camera_id} · {formatDateTime(e.captured_at)}
          </a>
        </li>
      ))}
    </ul>
  );
}

function ReviewPanel({ event, onSaved }: { event: StoredEvent; onSaved: (e: StoredEvent) => void }) {
  const [text, setText] = useState(event.review?.corrected_text ?? '');
  const [operator, setOperator] = useState(() => localStorage.getItem(OPERATOR_KEY) ?? '');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState<string>();
  useEffect(() => setText(event.review?.corrected_text ?? ''), [event.event_id, event.review?.corrected_text]);

  const send = async (body: { corrected_text?: string | null; reviewed?: boolean }, what: string) => {
    setBusy(true);
    setError(undefined);
    setSaved(undefined);
    try {
      if (operator.trim()) localStorage.setItem(OPERATOR_KEY, operator.trim());
      const e = await apiSend<StoredEvent>('PATCH', `/events/${event.event_id}`, { ...body, ...(operator.trim() ? { operator: operator.trim() } : {}) });
      onSaved(e);
      setSaved(what);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const fieldError = error instanceof ApiRequestError && error.field === 'corrected_text' ? error.message : undefined;
  const r = event.review;
  return (
    <div className="card" style={{ marginTop: '1rem' }}>
      <h2 style={{ marginTop: 0 }}>Correction and review</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void send({ corrected_text: text.trim() ? text.trim() : null }, text.trim() ? 'Correction saved.' : 'Correction withdrawn.');
        }}
        className="form-grid"
        style={{ gridTemplateColumns: '1fr' }}
      >
        <label>
          Plate as it really reads
          <input
            name="corrected_text"
            value={text}
            onChange={(e) => setText(e.target.value)}
            placeholder={event.plate.text}
            maxLength={32}
            aria-invalid={fieldError ? true : undefined}
            aria-describedby={fieldError ? 'corrected-error' : undefined}
          />
          {fieldError && (
            <span id="corrected-error" className="field-error">
              {fieldError}
            </span>
          )}
        </label>
        <label>
          Your name (kept with the change)
          <input name="operator" value={operator} onChange={(e) => setOperator(e.target.value)} maxLength={64} />
        </label>
        <div className="actions">
          <button type="submit" className="primary" disabled={busy}>
            Save correction
          </button>
          <button
            type="button"
            disabled={busy}
            onClick={() => void send({ reviewed: !r?.reviewed }, r?.reviewed ? 'Review mark removed.' : 'Marked as reviewed.')}
          >
            {r?.reviewed ? 'Mark as not reviewed' : 'Mark as reviewed'}
          </button>
          {busy && <Spinner label="Saving…" delayMs={200} />}
        </div>
      </form>
      {saved && (
        <p className="toast" role="status">
          {saved}
        </p>
      )}
      {error !== undefined && !fieldError && <p className="field-error">{errorText(error)}</p>}
      <dl className="facts" style={{ marginTop: '0.75rem' }}>
        <dt>Corrected</dt>
        <dd data-testid="corrected">{r?.corrected_text ? `${r.corrected_text} by ${r.corrected_by ?? '?'}, ${formatDateTime(r.corrected_at)}` : 'no'}</dd>
        <dt>Reviewed</dt>
        <dd data-testid="reviewed">{r?.reviewed ? `yes, by ${r.reviewed_by ?? '?'}, ${formatDateTime(r.reviewed_at)}` : 'no'}</dd>
      </dl>
    </div>
  );
}
