/** Display helpers shared by the screens. */
import type { StoredEvent } from '../../src-pipeline/common/plate-event';
import { imageFetchPath } from '../../src-pipeline/common/image-urls';
import { authedUrl } from '../api/client';

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

export function formatTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : timeFmt.format(d);
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateTimeFmt.format(d);
}

export function percent(c: number | null | undefined): string {
  return c === null || c === undefined ? '—' : `${Math.round(c * 100)}%`;
}

/** CSS class for a confidence: green from 90%, amber from 70%, red below. */
export function confClass(c: number | null | undefined): string {
  if (c === null || c === undefined) return '';
  return c >= 0.9 ? 'conf-high' : c >= 0.7 ? 'conf-mid' : 'conf-low';
}

/** The plate text an operator should see: the correction when there is one. */
export function shownPlate(e: StoredEvent): string {
  return e.review?.corrected_text ?? e.plate.text;
}

/**
 * A URL an <img> can load for a stored image URL: the API's own /images/ paths get the token as
 * `?token=` (an <img> cannot send a header); anything else is used as it is.
 */
export function imageSrc(url: string | null | undefined): string | undefined {
  const path = imageFetchPath(url);
  if (!path) return undefined;
  if (/^https?:\/\//i.test(path)) return path;
  // S3 pictures come through the API (proxy=true): a redirect to the S3 host would break the CSP.
  return authedUrl(path, path.startsWith('/images/s3/') ? { proxy: 'true' } : undefined);
}

export function vehicleText(e: StoredEvent): string {
  const v = e.vehicle;
  return [v.color, v.make, v.model, v.type].filter(Boolean).join(' ') || '—';
}
