/**
 * Live: a tile per camera (video + overlay, state, rates), a larger view on click, and a strip
 * of the latest reads. Camera status is polled every 2 s; video and overlays stream.
 */
import { useEffect, useState } from 'react';
import { apiGet } from '../api/client';
import type { CamerasAnswer, CameraStatus as CameraOut } from '../api/types';
import { EmptyState } from '../components/EmptyState';
import { ErrorMessage } from '../components/ErrorMessage';
import { Modal } from '../components/Modal';
import { PlateThumb } from '../components/PlateThumb';
import { Spinner } from '../components/Spinner';
import { useApi } from '../components/useApi';
import { confClass, formatTime, percent, shownPlate } from '../lib/format';
import { hrefFor } from '../router';
import { useLiveStore, watchOverlays } from '../state/live-store';
import { CameraView } from './live/CameraView';

const STATE_BADGE: Record<string, string> = { starting: 'warn', running: 'ok', restarting: 'warn', failed: 'warn' };

function usePolledCameras() {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => setTick((n) => n + 1), 2000);
    return () => clearInterval(t);
  }, []);
  return useApi((signal) => apiGet<CamerasAnswer>('/cameras', undefined, signal), [tick]);
}

const aspectOf = (c: CameraOut) => (c.width && c.height ? c.width / c.height : 16 / 9);

export function LiveScreen() {
  const cams = usePolledCameras();
  const [enlarged, setEnlarged] = useState<string | null>(null);
  useEffect(() => watchOverlays(), []);

  const cameras = cams.data?.cameras ?? [];
  const big = cameras.find((c) => c.id === enlarged);
  return (
    <section aria-labelledby="live-title">
      <div className="screen-header">
        <h1 id="live-title" tabIndex={-1}>
          Live
        </h1>
        <span className="muted">{cameras.length > 0 && `${cameras.filter((c) => c.state === 'running').length} of ${cameras.length} cameras running`}</span>
      </div>
      <LatestReads />
      {cams.error !== undefined && !cams.data && <ErrorMessage title="Cannot load the cameras" error={cams.error} onRetry={cams.reload} />}
      {cams.loading && !cams.data && <Spinner label="Loading cameras…" />}
      {cams.data && !cams.data.pipeline && (
        <EmptyState title="This server runs no cameras">
          It was started without a pipeline (<code>ovr-alpr serve --no-pipeline</code> or <code>ovr-alpr api</code>). Start{' '}
          <code>ovr-alpr serve --cameras cameras.yaml</code> to see live video here.
        </EmptyState>
      )}
      {cams.data?.pipeline && cameras.length === 0 && <EmptyState title="No cameras configured">Add a camera under Settings.</EmptyState>}
      <div className="live-grid">
        {cameras.map((c) => (
          <button
            type="button"
            key={c.id}
            className="camera-tile"
            onClick={() => setEnlarged(c.id)}
            aria-label={`Camera ${c.id}, ${c.state}; open a larger view`}
            data-camera={c.id}
          >
            <CameraView cameraId={c.id} aspect={aspectOf(c)} />
            <CameraMeta camera={c} />
          </button>
        ))}
      </div>
      <Modal title={`Camera ${enlarged ?? ''}`} open={big !== undefined} onClose={() => setEnlarged(null)} wide>
        {big && (
          <div className="camera-large">
            <CameraView cameraId={big.id} aspect={aspectOf(big)} large />
            <CameraMeta camera={big} detailed />
          </div>
        )}
      </Modal>
    </section>
  );
}

function CameraMeta({ camera: c, detailed }: { camera: CameraOut; detailed?: boolean }) {
  return (
    <div className="camera-meta">
      <strong>{c.id}</strong>
      <span className={`badge ${STATE_BADGE[c.state] ?? ''}`}>{c.state}</span>
      <span title="frames per second decoded">{c.fps_in.toFixed(1)} fps</span>
      <span>{c.events} events</span>
      {detailed && (
        <>
          <span>{c.tracks} tracks</span>
          <span>{c.dropped} dropped</span>
          {c.width && c.height && (
            <span>
              {c.width}×{c.height}
            </span>
          )}
        </>
      )}
      {c.last_error && (
        <span className="conf-low" title={c.last_error}>
          {c.last_error.slice(0, 80)}
        </span>
      )}
    </div>
  );
}

/** The newest reads from the live feed, newest first. */
function LatestReads() {
  const events = useLiveStore((s) => s.events);
  const latest = events.slice(0, 12);
  return (
    <section aria-label="Latest reads">
      <div className="reads-strip" data-testid="latest-reads">
        {latest.length === 0 && <span className="muted">No reads yet. Reads appear here as vehicles pass.</span>}
        {latest.map((e) => (
          <a key={e.event_id} className="read-card" href={hrefFor('events', [e.event_id])}>
            <PlateThumb url={e.images.plate_url} alt={`plate ${shownPlate(e)}`} />
            <span className="plate-text">{shownPlate(e)}</span>
            <span>
              <span className={confClass(e.plate.confidence)}>{percent(e.plate.confidence)}</span> · {e.camera_id} · {formatTime(e.captured_at)}
            </span>
          </a>
        ))}
      </div>
    </section>
  );
}
