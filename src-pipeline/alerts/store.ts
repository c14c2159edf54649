/**
 * AlertStore: where API-managed rules, hotlists (with their plates) and alert history live.
 * SQLite for the embedded console (a file beside events.sqlite), PostgreSQL for the backend;
 * both pass the same contract tests. `revision()` grows on every change so a separate
 * process (the `alerts` service next to `api`) can notice edits with one cheap query.
 */
import type { AlertHistoryItem, AlertRule, AlertRuleSpec, Channel, DeliveryStatus, Hotlist, HotlistEntry, HotlistPriority } from '../common/alert-rules.js';

export type HotlistWithSize = Hotlist & { size: number };

export interface HotlistPatch {
  priority?: HotlistPriority;
  reason?: string | null;
  description?: string | null;
}

/** A normalised entry ready to store. */
export interface EntryRow {
  plate: string;
  reason?: string;
  expires_at?: string;
}

export interface EntryQuery {
  /** Plate substring (normalised). */
  q?: string;
  limit: number;
  offset: number;
}

export interface HistoryQuery {
  rule?: string;
  plate?: string;
  channel?: Channel;
  status?: DeliveryStatus;
  start_time?: string;
  end_time?: string;
  limit: number;
  offset: number;
}

export type NewHistoryItem = Omit<AlertHistoryItem, 'id' | 'created_at'> & { created_at?: string };

export interface AlertStore {
  readonly kind: 'sqlite' | 'postgres';
  listRules(): Promise<AlertRule[]>;
  getRule(id: string): Promise<AlertRule | null>;
  getRuleByName(name: string): Promise<AlertRule | null>;
  createRule(spec: AlertRuleSpec): Promise<AlertRule>;
  updateRule(id: string, spec: AlertRuleSpec): Promise<AlertRule | null>;
  deleteRule(id: string): Promise<boolean>;

  listHotlists(): Promise<HotlistWithSize[]>;
  getHotlist(name: string): Promise<HotlistWithSize | null>;
  createHotlist(h: { name: string; priority: HotlistPriority; reason?: string; description?: string }): Promise<Hotlist>;
  updateHotlist(name: string, patch: HotlistPatch): Promise<Hotlist | null>;
  /** Removes the list and its plates. */
  deleteHotlist(name: string): Promise<boolean>;
  listEntries(hotlist: string, q: EntryQuery): Promise<{ items: HotlistEntry[]; total: number }>;
  /** Inserts or replaces plates in one transaction; returns how many were written. */
  upsertEntries(hotlist: string, entries: readonly EntryRow[]): Promise<number>;
  deleteEntry(hotlist: string, plate: string): Promise<boolean>;
  /** Every entry of every list (the engine builds its in-memory index from it). */
  allEntries(): Promise<HotlistEntry[]>;

  addHistory(item: NewHistoryItem): Promise<AlertHistoryItem>;
  /** Whether history already holds this rule's notification for this event on this channel as delivered. */
  wasDelivered(ruleId: string, eventId: string, channel: Channel): Promise<boolean>;
  queryHistory(q: HistoryQuery): Promise<{ items: AlertHistoryItem[]; total: number }>;

  revision(): Promise<number>;
  close(): Promise<void>;
}

/** Thrown for a duplicate rule name or hotlist; the API answers 400 with the field. */
export class AlertConflictError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'AlertConflictError';
  }
}
