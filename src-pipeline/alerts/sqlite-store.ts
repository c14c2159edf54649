/**
 * AlertStore on SQLite (better-sqlite3, WAL), in its own file beside events.sqlite so the event
 * store's migrations and the alert tables never step on each other. Times are stored as
 * ISO-8601 text (UTC, `Z`), which sorts in time order.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database, { type Database as Db } from 'better-sqlite3';
import { AlertRule, type AlertHistoryItem, type AlertRuleSpec, type Channel, type Hotlist, type HotlistEntry } from '../common/alert-rules.js';
import {
  AlertConflictError,
  type AlertStore,
  type EntryQuery,
  type EntryRow,
  type HistoryQuery,
  type HotlistPatch,
  type HotlistWithSize,
  type NewHistoryItem,
} from './store.js';
import {
  entryFromRow,
  historyFromRow,
  hotlistFromRow,
  ruleFromRow,
  specText,
  type EntryDbRow,
  type HistoryRow,
  type HotlistRow,
  type RuleRow,
} from './store-rows.js';

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE alert_rules (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     spec TEXT NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE TABLE alert_hotlists (
     name TEXT PRIMARY KEY,
     priority TEXT NOT NULL,
     reason TEXT,
     description TEXT,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE TABLE alert_hotlist_entries (
     hotlist TEXT NOT NULL REFERENCES alert_hotlists(name) ON DELETE CASCADE,
     plate TEXT NOT NULL,
     reason TEXT,
     expires_at TEXT,
     added_at TEXT NOT NULL,
     PRIMARY KEY (hotlist, plate)
   );
   CREATE TABLE alert_history (
     id TEXT PRIMARY KEY,
     rule_id TEXT NOT NULL,
     rule_name TEXT NOT NULL,
     event_id TEXT NOT NULL,
     plate TEXT NOT NULL,
     camera_id TEXT NOT NULL,
     channel TEXT NOT NULL,
     status TEXT NOT NULL,
     error TEXT,
     attempts INTEGER NOT NULL,
     created_at TEXT NOT NULL
   );
   CREATE INDEX alert_history_created ON alert_history (created_at);
   CREATE INDEX alert_history_plate ON alert_history (plate, created_at);
   CREATE INDEX alert_history_rule ON alert_history (rule_name, created_at);
   CREATE TABLE alert_revision (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);
   INSERT INTO alert_revision (id, n) VALUES (1, 0);`,
  // Replayed events (a consumer restarted before its commit) look their notifications up here.
  `CREATE INDEX alert_history_event ON alert_history (event_id);`,
];

const now = () => new Date().toISOString();
export class SqliteAlertStore implements AlertStore {
  readonly kind = 'sqlite' as const;
  private readonly db: Db;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.migrate();
  }

  private migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS alert_schema (version INTEGER NOT NULL)');
    const row = this.db.prepare('SELECT max(version) AS v FROM alert_schema').get() as { v: number | null };
    for (let v = row.v ?? 0; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]);
        this.db.prepare('INSERT INTO alert_schema (version) VALUES (?)').run(v + 1);
      })();
    }
  }

  private bump(): void {
    this.db.prepare('UPDATE alert_revision SET n = n + 1 WHERE id = 1').run();
  }

  async revision(): Promise<number> {
    return (this.db.prepare('SELECT n FROM alert_revision WHERE id = 1').get() as { n: number }).n;
  }

  async listRules(): Promise<AlertRule[]> {
    return (this.db.prepare('SELECT id, spec, created_at, updated_at FROM alert_rules ORDER BY name').all() as RuleRow[]).map(ruleFromRow);
  }

  async getRule(id: string): Promise<AlertRule | null> {
    const r = this.db.prepare('SELECT id, spec, created_at, updated_at FROM alert_rules WHERE id = ?').get(id) as RuleRow | undefined;
    return r ? ruleFromRow(r) : null;
  }

  async getRuleByName(name: string): Promise<AlertRule | null> {
    const r = this.db.prepare('SELECT id, spec, created_at, updated_at FROM alert_rules WHERE name = ?').get(name) as RuleRow | undefined;
    return r ? ruleFromRow(r) : null;
  }

  async createRule(spec: AlertRuleSpec): Promise<AlertRule> {
    const id = randomUUID();
    const t = now();
    try {
      this.db.transaction(() => {
        this.db.prepare('INSERT INTO alert_rules (id, name, spec, created_at, updated_at) VALUES (?, ?, ?, ?, ?)').run(id, spec.name, specText(spec), t, t);
        this.bump();
      })();
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new AlertConflictError('name', `a rule named "${spec.name}" already exists`);
      throw err;
    }
    return (await this.getRule(id))!;
  }

  async updateRule(id: string, spec: AlertRuleSpec): Promise<AlertRule | null> {
    let changed = 0;
    try {
      this.db.transaction(() => {
        changed = this.db.prepare('UPDATE alert_rules SET name = ?, spec = ?, updated_at = ? WHERE id = ?').run(spec.name, specText(spec), now(), id).changes;
        if (changed) this.bump();
      })();
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new AlertConflictError('name', `a rule named "${spec.name}" already exists`);
      throw err;
    }
    return changed ? this.getRule(id) : null;
  }

  async deleteRule(id: string): Promise<boolean> {
    return this.db.transaction(() => {
      const n = this.db.prepare('DELETE FROM alert_rules WHERE id = ?').run(id).changes;
      if (n) this.bump();
      return n > 0;
    })();
  }

  private static readonly HOTLIST_SELECT = 'SELECT h.*, (SELECT count(*) FROM alert_hotlist_entries e WHERE e.hotlist = h.name) AS size FROM alert_hotlists h';

  async listHotlists(): Promise<HotlistWithSize[]> {
    return (this.db.prepare(`${SqliteAlertStore.HOTLIST_SELECT} ORDER BY h.name`).all() as HotlistRow[]).map(hotlistFromRow);
  }

  async getHotlist(name: string): Promise<HotlistWithSize | null> {
    const r = this.db.prepare(`${SqliteAlertStore.HOTLIST_SELECT} WHERE h.name = ?`).get(name) as HotlistRow | undefined;
    return r ? hotlistFromRow(r) : null;
  }

  async createHotlist(h: { name: string; priority: Hotlist['priority']; reason?: string; description?: string }): Promise<Hotlist> {
    const t = now();
    try {
      this.db.transaction(() => {
        this.db
          .prepare('INSERT INTO alert_hotlists (name, priority, reason, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
          .run(h.name, h.priority, h.reason ?? null, h.description ?? null, t, t);
        this.bump();
      })();
    } catch (err) {
      if (String((err as { code?: string }).code).startsWith('SQLITE_CONSTRAINT'))
        throw new AlertConflictError('name', `a hotlist named "${h.name}" already exists`);
      throw err;
    }
    const { size: _size, ...rest } = (await this.getHotlist(h.name))!;
    return rest;
  }

  async updateHotlist(name: string, patch: HotlistPatch): Promise<Hotlist | null> {
    const cur = await this.getHotlist(name);
    if (!cur) return null;
    this.db.transaction(() => {
      this.db
        .prepare('UPDATE alert_hotlists SET priority = ?, reason = ?, description = ?, updated_at = ? WHERE name = ?')
        .run(
          patch.priority ?? cur.priority,
          patch.reason === undefined ? (cur.reason ?? null) : patch.reason,
          patch.description === undefined ? (cur.description ?? null) : patch.description,
          now(),
          name,
        );
      this.bump();
    })();
    const { size: _size, ...rest } = (await this.getHotlist(name))!;
    return rest;
  }

  async deleteHotlist(name: string): Promise<boolean> {
    return this.db.transaction(() => {
      this.db.prepare('DELETE FROM alert_hotlist_entries WHERE hotlist = ?').run(name);
      const n = this.db.prepare('DELETE FROM alert_hotlists WHERE name = ?').run(name).changes;
      if (n) this.bump();
      return n > 0;
    })();
  }

  async listEntries(hotlist: string, q: EntryQuery): Promise<{ items: HotlistEntry[]; total: number }> {
    const where = q.q ? 'hotlist = ? AND instr(plate, ?) > 0' : 'hotlist = ?';
    const params = q.q ? [hotlist, q.q] : [hotlist];
    const total = (this.db.prepare(`SELECT count(*) AS n FROM alert_hotlist_entries WHERE ${where}`).get(...params) as { n: number }).n;
    const rows = this.db
      .prepare(`SELECT * FROM alert_hotlist_entries WHERE ${where} ORDER BY plate LIMIT ? OFFSET ?`)
      .all(...params, q.limit, q.offset) as EntryDbRow[];
    return { items: rows.map(entryFromRow), total };
  }

  async upsertEntries(hotlist: string, entries: readonly EntryRow[]): Promise<number> {
    const t = now();
    const stmt = this.db.prepare(
      `INSERT INTO alert_hotlist_entries (hotlist, plate, reason, expires_at, added_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (hotlist, plate) DO UPDATE SET reason = excluded.reason, expires_at = excluded.expires_at`,
    );
    return this.db.transaction(() => {
      for (const e of entries) stmt.run(hotlist, e.plate, e.reason ?? null, e.expires_at ?? null, t);
      this.db.prepare('UPDATE alert_hotlists SET updated_at = ? WHERE name = ?').run(t, hotlist);
      this.bump();
      return entries.length;
    })();
  }

  async deleteEntry(hotlist: string, plate: string): Promise<boolean> {
    return this.db.transaction(() => {
      const n = this.db.prepare('DELETE FROM alert_hotlist_entries WHERE hotlist = ? AND plate = ?').run(hotlist, plate).changes;
      if (n) this.bump();
      return n > 0;
    })();
  }

  async allEntries(): Promise<HotlistEntry[]> {
    return (this.db.prepare('SELECT * FROM alert_hotlist_entries').all() as EntryDbRow[]).map(entryFromRow);
  }

  async addHistory(item: NewHistoryItem): Promise<AlertHistoryItem> {
    const row: HistoryRow = { ...item, id: randomUUID(), error: item.error ?? null, created_at: item.created_at ?? now() };
    this.db
      .prepare(
        `INSERT INTO alert_history (id, rule_id, rule_name, event_id, plate, camera_id, channel, status, error, attempts, created_at)
         VALUES (@id, @rule_id, @rule_name, @event_id, @plate, @camera_id, @channel, @status, @error, @attempts, @created_at)`,
      )
      .run(row);
    return historyFromRow(row);
  }

  async wasDelivered(ruleId: string, eventId: string, channel: Channel): Promise<boolean> {
    return (
      this.db
        .prepare(`SELECT 1 FROM alert_history WHERE event_id = ? AND rule_id = ? AND channel = ? AND status = 'delivered' LIMIT 1`)
        .get(eventId, ruleId, channel) !== undefined
    );
  }

  async queryHistory(q: HistoryQuery): Promise<{ items: AlertHistoryItem[]; total: number }> {
    const clauses: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, v: unknown) => {
      clauses.push(sql);
      params.push(v);
    };
    if (q.rule) {
      clauses.push('(rule_name = ? OR rule_id = ?)');
      params.push(q.rule, q.rule);
    }
    if (q.plate) add('plate = ?', q.plate);
    if (q.channel) add('channel = ?', q.channel);
    if (q.status) add('status = ?', q.status);
    if (q.start_time) add('created_at >= ?', new Date(q.start_time).toISOString());
    if (q.end_time) add('created_at < ?', new Date(q.end_time).toISOString());
    const where = clauses.length ? `WHERE ${clauses.join(' AND ')}` : '';
    const total = (this.db.prepare(`SELECT count(*) AS n FROM alert_history ${where}`).get(...params) as { n: number }).n;
    const rows = this.db
      .prepare(`SELECT * FROM alert_history ${where} ORDER BY created_at DESC, id LIMIT ? OFFSET ?`)
      .all(...params, q.limit, q.offset) as HistoryRow[];
    return { items: rows.map(historyFromRow), total };
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
