/** Events: the live feed (#/events) and one event's page (#/events/<id>). */
import { useEffect } from 'react';
import { apiGet } from '../api/client';
import type { EventList } from '../api/types';
import { EmptyState } from '../components/EmptyState';
import { ErrorMessage } from '../components/ErrorMessage';
import { PlateThumb } from '../components/PlateThumb';
import { Spinner } from '../components/Spinner';
import { useApi } from '../components/useApi';
import { confClass, formatDateTime, percent, shownPlate, vehicleText } from '../lib/format';
import { hrefFor } from '../router';
import { seedEvents, useLiveStore } from '../state/live-store';
import { EventDetail } from './events/EventDetail';

export function EventsScreen({ eventId }: { eventId?: string }) {
  return eventId ? <EventDetail eventId={eventId} /> : <EventFeed />;
}

function EventFeed() {
  const events = useLiveStore((s) => s.events);
  const state = useLiveStore((s) => s.state);
  const received = useLiveStore((s) => s.received);
  // The feed only carries events from now on; the newest stored ones fill it first.
  const backlog = useApi((signal) => apiGet<EventList>('/events/recent', { limit: 50 }, signal), []);
  useEffect(() => {
    if (backlog.data) seedEvents(backlog.data.events);
  }, [backlog.data]);

  return (
    <section aria-labelledby="events-title">
      <div className="screen-header">
        <h1 id="events-title" tabIndex={-1}>
          Events
        </h1>
        <span className="muted">{state === 'open' ? 'New reads appear at the top as they happen.' : 'Live feed not connected; showing stored events.'}</span>
      </div>
      {backlog.error !== undefined && <ErrorMessage title="Cannot load recent events" error={backlog.error} onRetry={backlog.reload} />}
      {backlog.loading && events.length === 0 && <Spinner label="Loading recent events…" />}
      {!backlog.loading && events.length === 0 && backlog.error === undefined && (
        <EmptyState title="No events yet">Events appear here when a camera reads a plate. Check the Live screen to see whether cameras are running.</EmptyState>
      )}
      <div className="feed" role="list" data-testid="event-feed" data-received={received}>
        <div className="feed-row feed-head" aria-hidden="true">
          <span>Plate</span>
          <span>Read</span>
          <span>Conf.</span>
          <span>Camera</span>
          <span>Vehicle</span>
          <span>Time</span>
          <span>Direction</span>
        </div>
        {events.map((e) => (
          <a key={e.event_id} role="listitem" className="feed-row" href={hrefFor('events', [e.event_id])} data-event-id={e.event_id}>
            <PlateThumb url={e.images.plate_url} alt={`plate ${e.plate.text}`} />
            <span>
              <span className="plate-text">{shownPlate(e)}</span>
              {e.review?.corrected_text && (
                <span className="badge warn" title={`read as ${e.plate.text}`}>
                  corrected
                </span>
              )}
              {e.review?.reviewed && <span className="badge ok">reviewed</span>}
            </span>
            <span className={confClass(e.plate.confidence)}>{percent(e.plate.confidence)}</span>
            <span>{e.camera_id}</span>
            <span>{vehicleText(e)}</span>
            <span>{formatDateTime(e.captured_at)}</span>
            <span>{e.extras.direction ?? '—'}</span>
          </a>
        ))}
      </div>
    </section>
  );
}
