/**
 * Row ↔ object mapping shared by the SQLite and PostgreSQL alert stores (same columns in both).
 * Kept apart from either store so the backend's PostgreSQL store does not load better-sqlite3.
 */
import { AlertRule, type AlertHistoryItem, type AlertRuleSpec, type Hotlist, type HotlistEntry } from '../common/alert-rules.js';
import type { HotlistWithSize } from './store.js';

const orUndef = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

export interface RuleRow {
  id: string;
  spec: string;
  created_at: string;
  updated_at: string;
}
export interface HotlistRow {
  name: string;
  priority: Hotlist['priority'];
  reason: string | null;
  description: string | null;
  created_at: string;
  updated_at: string;
  size?: number;
}
export interface EntryDbRow {
  hotlist: string;
  plate: string;
  reason: string | null;
  expires_at: string | null;
  added_at: string;
}
export type HistoryRow = Omit<AlertHistoryItem, 'error'> & { error: string | null };

export function ruleFromRow(r: RuleRow): AlertRule {
  const spec = JSON.parse(r.spec) as AlertRuleSpec;
  return AlertRule.parse({ ...spec, id: r.id, source: 'api', created_at: r.created_at, updated_at: r.updated_at });
}
export function hotlistFromRow(r: HotlistRow): HotlistWithSize {
  return {
    name: r.name,
    priority: r.priority,
    reason: orUndef(r.reason),
    description: orUndef(r.description),
    created_at: r.created_at,
    updated_at: r.updated_at,
    size: Number(r.size ?? 0),
  };
}
export function entryFromRow(r: EntryDbRow): HotlistEntry {
  return { hotlist: r.hotlist, plate: r.plate, reason: orUndef(r.reason), expires_at: orUndef(r.expires_at), added_at: r.added_at };
}
export function historyFromRow(r: HistoryRow): AlertHistoryItem {
  return { ...r, error: orUndef(r.error), attempts: Number(r.attempts) };
}

/** Stored spec: the rule minus the bookkeeping fields. */
export const specText = (spec: AlertRuleSpec) => JSON.stringify(spec);
