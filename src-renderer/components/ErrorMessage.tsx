import { ApiRequestError, errorText } from '../api/client';

/** A readable error with a retry button when the failure may pass (network, 503). */
export function ErrorMessage({ error, title, onRetry }: { error: unknown; title?: string; onRetry?: () => void }) {
  const retriable = error instanceof ApiRequestError ? error.retriable || error.status === 0 : true;
  const code = error instanceof ApiRequestError ? error.code : undefined;
  return (
    <div className="error-message" role="alert">
      <strong>{title ?? 'Something went wrong'}</strong>
      <p>{errorText(error)}</p>
      {code === 'UNAUTHORIZED' && <p className="muted">Open the console with the link that `ovr-alpr serve` printed (it carries ?token=).</p>}
      {onRetry && retriable && (
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      )}
      {code && <span className="error-code">{code}</span>}
    </div>
  );
}
