import { ApiRequestError } from '../../api/client';
import { EmptyState } from '../../components/EmptyState';

/** True when the server runs no alert engine (no /alerts routes). */
export function isNoAlerts(error: unknown): boolean {
  return error instanceof ApiRequestError && error.status === 404 && error.code === 'NOT_FOUND';
}

export function NoAlerts() {
  return (
    <EmptyState title="No alert engine on this server">
      Alerts run where events are stored: `ovr-alpr serve` on the edge, or `ovr-alpr alerts` with the backend.
    </EmptyState>
  );
}
