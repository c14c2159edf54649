import { ApiRequestError } from '../../api/client';
import { EmptyState } from '../../components/EmptyState';

/** True when the server has no /settings routes: the backend `ovr-alpr api`, which manages no cameras or files. */
export function isNoSettings(error: unknown): boolean {
  return error instanceof ApiRequestError && error.status === 404 && error.code === 'NOT_FOUND';
}

export function NoSettings() {
  return (
    <EmptyState title="Not managed by this server">
      This is the backend query API; cameras, retention and the backend connection are set on the edge (`ovr-alpr serve`).
    </EmptyState>
  );
}
