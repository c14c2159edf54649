import type { ReactNode } from 'react';
import { Spinner } from './Spinner';

/** The end of an editor form: why the last save failed, submit and cancel, and a spinner while saving; `children` go after them. */
export function FormFooter({
  submitLabel,
  saving,
  saveError,
  onCancel,
  children,
}: {
  submitLabel: string;
  saving: boolean;
  saveError: string | null | undefined;
  onCancel: () => void;
  children?: ReactNode;
}) {
  return (
    <>
      {saveError && (
        <p className="danger-text" role="alert">
          {saveError}
        </p>
      )}
      <div className="actions">
        <button type="submit" className="primary" disabled={saving}>
          {submitLabel}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        {saving && <Spinner label="Saving…" />}
        {children}
      </div>
    </>
  );
}
