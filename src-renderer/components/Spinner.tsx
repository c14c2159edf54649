import { useEffect, useState } from 'react';

/**
 * A busy indicator that only appears after `delayMs`: most answers come back fast, and a
 * spinner flashing for 50 ms is noise. Anything slower than that gets a visible, labelled one.
 */
export function Spinner({ label = 'Loading…', delayMs = 300 }: { label?: string; delayMs?: number }) {
  const [visible, setVisible] = useState(delayMs === 0);
  useEffect(() => {
    if (delayMs === 0) return;
    const t = setTimeout(() => setVisible(true), delayMs);
    return () => clearTimeout(t);
  }, [delayMs]);
  if (!visible) return null;
  return (
    <div className="spinner" role="status" aria-live="polite">
      <span className="spinner-dot" aria-hidden="true" />
      {label}
    </div>
  );
}

/** A determinate progress bar (0..1) or an indeterminate one (value undefined). */
export function Progress({ value, label }: { value?: number; label: string }) {
  return (
    <div className="progress" role="status">
      <span>{label}</span>
      <progress max={1} value={value} aria-label={label} />
    </div>
  );
}
