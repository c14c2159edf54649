/**
 * Turns the Health screen's rolling samples into a list of current problems in words
 * ("camera gate-1 has had no frames for 40 s"). Pure, so it is unit-tested under node.
 */
import type { BackendStatus, CameraStatus, HealthAnswer } from '../../api/types.js';

export interface Sample {
  at: number;
  cameras: CameraStatus[];
  health: HealthAnswer | null;
  totalEvents: number | null;
  backend: BackendStatus | null;
}

export interface Problem {
  severity: 'error' | 'warn';
  text: string;
}

/** A running camera is stalled once its frame count has not moved for this long. */
export const STALL_MS = 20_000;
export const DROP_RATIO_WARN = 0.1;

/** Milliseconds since camera `id`'s frame counter last changed, judged from the samples (oldest first). */
export function msSinceLastFrame(samples: readonly Sample[], id: string): number | null {
  const last = samples[samples.length - 1];
  const now = last?.cameras.find((c) => c.id === id);
  if (!last || !now) return null;
  let since = last.at;
  for (let i = samples.length - 2; i >= 0; i--) {
    const c = samples[i].cameras.find((x) => x.id === id);
    if (!c || c.frames !== now.frames) break;
    since = samples[i].at;
  }
  return last.at - since;
}

export function currentProblems(samples: readonly Sample[], fetchError: string | null): Problem[] {
  const out: Problem[] = [];
  if (fetchError) out.push({ severity: 'error', text: `the console cannot reach the service: ${fetchError}` });
  const last = samples[samples.length - 1];
  if (!last) return out;
  const h = last.health;
  if (h?.database === 'down')
    out.push({
      severity: 'error',
      text: `the ${h.storage} database does not answer${h.components?.database?.error ? `: ${h.components.database.error}` : ''}`,
    });
  const NAMES = { kafka: 'Kafka', schema_registry: 'the schema registry', s3: 'S3' } as const;
  for (const key of ['kafka', 'schema_registry', 's3'] as const) {
    const c = h?.components?.[key];
    if (c?.status === 'down') out.push({ severity: 'error', text: `${NAMES[key]} is down${c.target ? ` (${c.target})` : ''}${c.error ? `: ${c.error}` : ''}` });
  }
  const up = h?.image_uploads;
  if (up?.over_cap) out.push({ severity: 'error', text: `image uploads are over the local cache limit: ${up.pending} pictures wait for S3` });
  else if (up && up.pending > 0 && up.retrying)
    out.push({ severity: 'warn', text: `${up.pending} picture(s) wait to be uploaded to S3${up.last_error ? ` (last error: ${up.last_error})` : ''}` });
  const prev = samples.length > 1 ? samples[samples.length - 2] : undefined;
  for (const c of last.cameras) {
    if (c.state === 'failed') out.push({ severity: 'error', text: `camera ${c.id} has failed and is not restarted${c.last_error ? `: ${c.last_error}` : ''}` });
    else if (c.state === 'restarting')
      out.push({
        severity: 'warn',
        text: `camera ${c.id} is restarting (${c.restarts} restart${c.restarts === 1 ? '' : 's'})${c.last_error ? `: ${c.last_error}` : ''}`,
      });
    else if (c.state === 'running') {
      const stalled = msSinceLastFrame(samples, c.id);
      if (stalled !== null && stalled >= STALL_MS)
        out.push({ severity: 'error', text: `camera ${c.id} has had no frames for ${Math.round(stalled / 1000)} s` });
      if (c.source_state && c.source_state !== 'running' && c.source_state !== 'open')
        out.push({ severity: 'warn', text: `camera ${c.id}'s source is ${c.source_state}${c.last_error ? `: ${c.last_error}` : ''}` });
    }
    const p = prev?.cameras.find((x) => x.id === c.id);
    if (p) {
      const frames = c.frames - p.frames;
      const drops = c.dropped - p.dropped;
      if (drops > 0 && drops / Math.max(1, frames + drops) >= DROP_RATIO_WARN)
        out.push({
          severity: 'warn',
          text: `camera ${c.id} is dropping frames (${drops} in the last ${Math.round((last.at - prev!.at) / 1000)} s): the pipeline cannot keep up`,
        });
      if (c.decode_errors > p.decode_errors)
        out.push({ severity: 'warn', text: `camera ${c.id} has decode errors (${c.decode_errors - p.decode_errors} new)` });
    }
  }
  const b = last.backend;
  if (b?.error) out.push({ severity: 'error', text: `backend settings are invalid: ${b.error}` });
  // When /health checks Kafka itself its lines above say it; the settings check adds the topic and lag.
  const healthKnowsKafka = h?.components?.kafka !== undefined && h.components.kafka.status !== 'not_configured';
  if (b?.enabled && b.check) {
    if (!b.check.kafka.ok) {
      if (!healthKnowsKafka) out.push({ severity: 'error', text: `Kafka is down: ${b.check.kafka.error ?? 'no answer'}` });
    } else if (b.check.kafka.topic_exists === false) out.push({ severity: 'warn', text: 'the Kafka topic does not exist yet (no event has been published)' });
    if (!healthKnowsKafka && b.check.registry && !b.check.registry.ok)
      out.push({ severity: 'error', text: `the schema registry is down: ${b.check.registry.error ?? 'no answer'}` });
    if ((b.check.kafka.consumer_lag ?? 0) > 1000) out.push({ severity: 'warn', text: `the storage consumer is ${b.check.kafka.consumer_lag} events behind` });
  }
  return out;
}

/** Events per minute between consecutive samples (from /stats totals); [] until two samples. */
export function eventsPerMinute(samples: readonly Sample[]): { at: number; epm: number }[] {
  const out: { at: number; epm: number }[] = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1];
    const b = samples[i];
    if (a.totalEvents === null || b.totalEvents === null || b.at <= a.at) continue;
    // Retention may delete rows between samples; a negative rate means nothing.
    out.push({ at: b.at, epm: Math.max(0, ((b.totalEvents - a.totalEvents) * 60_000) / (b.at - a.at)) });
  }
  return out;
}
