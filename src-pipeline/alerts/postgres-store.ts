/**
 * AlertStore on PostgreSQL for the backend (`api` and `alerts` share it). Same tables as the
 * SQLite store, with timestamptz times; every statement is parameterised.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { AlertHistoryItem, AlertRule, AlertRuleSpec, Channel, Hotlist, HotlistEntry } from '../common/alert-rules.js';
import { AlprError } from '../common/errors.js';
import { entryFromRow, historyFromRow, hotlistFromRow, ruleFromRow, specText } from './store-rows.js';
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

const SCHEMA = `
CREATE TABLE IF NOT EXISTS alert_rules (
  id text PRIMARY KEY,
  name text NOT NULL UNIQUE,
  spec jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS alert_hotlists (
  name text PRIMARY KEY,
  priority text NOT NULL,
  reason text,
  description text,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS alert_hotlist_entries (
  hotlist text NOT NULL REFERENCES alert_hotlists(name) ON DELETE CASCADE,
  plate text NOT NULL,
  reason text,
  expires_at timestamptz,
  added_at timestamptz NOT NULL,
  PRIMARY KEY (hotlist, plate)
);
CREATE TABLE IF NOT EXISTS alert_history (
  id text PRIMARY KEY,
  rule_id text NOT NULL,
  rule_name text NOT NULL,
  event_id text NOT NULL,
  plate text NOT NULL,
  camera_id text NOT NULL,
  channel text NOT NULL,
  status text NOT NULL,
  error text,
  attempts integer NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_history_created ON alert_history (created_at DESC);
CREATE INDEX IF NOT EXISTS alert_history_plate ON alert_history (plate, created_at DESC);
CREATE INDEX IF NOT EXISTS alert_history_rule ON alert_history (rule_name, created_at DESC);
CREATE INDEX IF NOT EXISTS alert_history_event ON alert_history (event_id);
CREATE TABLE IF NOT EXISTS alert_revision (id integer PRIMARY KEY CHECK (id = 1), n bigint NOT NULL);
INSERT INTO alert_revision (id, n) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
`;

const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : String(v));
const isoOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : iso(v));
const isUnique = (err: unknown) => (err as { code?: string }).code === '23505';

type Q = pg.Pool | pg.PoolClient;

export class PostgresAlertStore implements AlertStore {
  readonly kind = 'postgres' as const;
  readonly pool: pg.Pool;

  constructor(url: string) {
    this.pool = new pg.Pool({ connectionString: url, max: 4 });
    // An idle client losing its connection must not crash the process.
    this.pool.on('error', () => {});
  }

  async migrate(): Promise<void> {
    // One schema for every process: an advisory lock keeps `api` and `alerts` starting together from racing.
    const c = await this.pool.connect();
    try {
      await c.query('SELECT pg_advisory_lock(74201)');
      await c.query(SCHEMA);
    } finally {
      await c.query('SELECT pg_advisory_unlock(74201)').catch(() => {});
      c.release();
    }
  }

  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const r = await fn(c);
      await c.query('COMMIT');
      return r;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      c.release();
    }
  }

  private bump(c: Q): Promise<unknown> {
    return c.query('UPDATE alert_revision SET n = n + 1 WHERE id = 1');
  }

  async revision(): Promise<number> {
    const r = await this.pool.query('SELECT n FROM alert_revision WHERE id = 1');
    return Number(r.rows[0]?.n ?? 0);
  }

  private rule(r: { id: string; spec: unknown; created_at: unknown; updated_at: unknown }): AlertRule {
    return ruleFromRow({ id: r.id, spec: JSON.stringify(r.spec), created_at: iso(r.created_at), updated_at: iso(r.updated_at) });
  }

  async listRules(): Promise<AlertRule[]> {
    const r = await this.pool.query('SELECT id, spec, created_at, updated_at FROM alert_rules ORDER BY name');
    return r.rows.map((x) => this.rule(x));
  }

  async getRule(id: string): Promise<AlertRule | null> {
    const r = await this.pool.query('SELECT id, spec, created_at, updated_at FROM alert_rules WHERE id = $1', [id]);
    return r.rows[0] ? this.rule(r.rows[0]) : null;
  }

  async getRuleByName(name: string): Promise<AlertRule | null> {
    const r = await this.pool.query('SELECT id, spec, created_at, updated_at FROM alert_rules WHERE name = $1', [name]);
    return r.rows[0] ? this.rule(r.rows[0]) : null;
  }

  async createRule(spec: AlertRuleSpec): Promise<AlertRule> {
    const id = randomUUID();
    try {
      await this.tx(async (c) => {
        await c.query('INSERT INTO alert_rules (id, name, spec, created_at, updated_at) VALUES ($1, $2, $3::jsonb, now(), now())', [
          id,
          spec.name,
          specText(spec),
        ]);
        await this.bump(c);
      });
    } catch (err) {
      if (isUnique(err)) throw new AlertConflictError('name', `a rule named "${spec.name}" already exists`);
      throw err;
    }
    return (await this.getRule(id))!;
  }

  async updateRule(id: string, spec: AlertRuleSpec): Promise<AlertRule | null> {
    let n = 0;
    try {
      n = await this.tx(async (c) => {
        const r = await c.query('UPDATE alert_rules SET name = $1, spec = $2::jsonb, updated_at = now() WHERE id = $3', [spec.name, specText(spec), id]);
        if (r.rowCount) await this.bump(c);
        return r.rowCount ?? 0;
      });
    } catch (err) {
      if (isUnique(err)) throw new AlertConflictError('name', `a rule named "${spec.name}" already exists`);
      throw err;
    }
    return n ? this.getRule(id) : null;
  }

  async deleteRule(id: string): Promise<boolean> {
    return this.tx(async (c) => {
      const r = await c.query('DELETE FROM alert_rules WHERE id = $1', [id]);
      if (r.rowCount) await this.bump(c);
      return (r.rowCount ?? 0) > 0;
    });
  }

  private static readonly HOTLIST_SELECT = 'SELECT h.*, (SELECT count(*) FROM alert_hotlist_entries e WHERE e.hotlist = h.name) AS size FROM alert_hotlists h';

  private hotlist(r: Record<string, unknown>): HotlistWithSize {
    return hotlistFromRow({
      name: r.name as string,
      priority: r.priority as Hotlist['priority'],
      reason: r.reason as string | null,
      description: r.description as string | null,
      created_at: iso(r.created_at),
      updated_at: iso(r.updated_at),
      size: Number(r.size ?? 0),
    });
  }

  async listHotlists(): Promise<HotlistWithSize[]> {
    const r = await this.pool.query(`${PostgresAlertStore.HOTLIST_SELECT} ORDER BY h.name`);
    return r.rows.map((x) => this.hotlist(x));
  }

  async getHotlist(name: string): Promise<HotlistWithSize | null> {
    const r = await this.pool.query(`${PostgresAlertStore.HOTLIST_SELECT} WHERE h.name = $1`, [name]);
    return r.rows[0] ? this.hotlist(r.rows[0]) : null;
  }

  async createHotlist(h: { name: string; priority: Hotlist['priority']; reason?: string; description?: string }): Promise<Hotlist> {
    try {
      await this.tx(async (c) => {
        await c.query('INSERT INTO alert_hotlists (name, priority, reason, description, created_at, updated_at) VALUES ($1, $2, $3, $4, now(), now())', [
          h.name,
          h.priority,
          h.reason ?? null,
          h.description ?? null,
        ]);
        await this.bump(c);
      });
    } catch (err) {
      if (isUnique(err)) throw new AlertConflictError('name', `a hotlist named "${h.name}" already exists`);
      throw err;
    }
    const { size: _size, ...rest } = (await this.getHotlist(h.name))!;
    return rest;
  }

  async updateHotlist(name: string, patch: HotlistPatch): Promise<Hotlist | null> {
    const cur = await this.getHotlist(name);
    if (!cur) return null;
    await this.tx(async (c) => {
      await c.query('UPDATE alert_hotlists SET priority = $1, reason = $2, description = $3, updated_at = now() WHERE name = $4', [
        patch.priority ?? cur.priority,
        patch.reason === undefined ? (cur.reason ?? null) : patch.reason,
        patch.description === undefined ? (cur.description ?? null) : patch.description,
        name,
      ]);
      await this.bump(c);
    });
    const { size: _size, ...rest } = (await this.getHotlist(name))!;
    return rest;
  }

  async deleteHotlist(name: string): Promise<boolean> {
    return this.tx(async (c) => {
      await c.query('DELETE FROM alert_hotlist_entries WHERE hotlist = $1', [name]);
      const r = await c.query('DELETE FROM alert_hotlists WHERE name = $1', [name]);
      if (r.rowCount) await this.bump(c);
      return (r.rowCount ?? 0) > 0;
    });
  }

  private entry(r: Record<string, unknown>): HotlistEntry {
    return entryFromRow({
      hotlist: r.hotlist as string,
      plate: r.plate as string,
      reason: r.reason as string | null,
      expires_at: isoOrNull(r.expires_at),
      added_at: iso(r.added_at),
    });
  }

  async listEntries(hotlist: string, q: EntryQuery): Promise<{ items: HotlistEntry[]; total: number }> {
    const where = q.q ? 'hotlist = $1 AND strpos(plate, $2) > 0' : 'hotlist = $1';
    const params: unknown[] = q.q ? [hotlist, q.q] : [hotlist];
    const total = Number((await this.pool.query(`SELECT count(*) AS n FROM alert_hotlist_entries WHERE ${where}`, params)).rows[0].n);
    const n = params.length;
    const r = await this.pool.query(`SELECT * FROM alert_hotlist_entries WHERE ${where} ORDER BY plate LIMIT $${n + 1} OFFSET $${n + 2}`, [
      ...params,
      q.limit,
      q.offset,
    ]);
    return { items: r.rows.map((x) => this.entry(x)), total };
  }

  async upsertEntries(hotlist: string, entries: readonly EntryRow[]): Promise<number> {
    return this.tx(async (c) => {
      // Arrays unnest into rows: one round trip per 5,000 plates instead of one per plate.
      for (let i = 0; i < entries.length; i += 5000) {
        const chunk = entries.slice(i, i + 5000);
        await c.query(
          `INSERT INTO alert_hotlist_entries (hotlist, plate, reason, expires_at, added_at)
           SELECT $1, p, r, e::timestamptz, now() FROM unnest($2::text[], $3::text[], $4::text[]) AS t(p, r, e)
           ON CONFLICT (hotlist, plate) DO UPDATE SET reason = excluded.reason, expires_at = excluded.expires_at`,
          [hotlist, chunk.map((e) => e.plate), chunk.map((e) => e.reason ?? null), chunk.map((e) => e.expires_at ?? null)],
        );
      }
      await c.query('UPDATE alert_hotlists SET updated_at = now() WHERE name = $1', [hotlist]);
      await this.bump(c);
      return entries.length;
    });
  }

  async deleteEntry(hotlist: string, plate: string): Promise<boolean> {
    return this.tx(async (c) => {
      const r = await c.query('DELETE FROM alert_hotlist_entries WHERE hotlist = $1 AND plate = $2', [hotlist, plate]);
      if (r.rowCount) await this.bump(c);
      return (r.rowCount ?? 0) > 0;
    });
  }

  async allEntries(): Promise<HotlistEntry[]> {
    const r = await this.pool.query('SELECT * FROM alert_hotlist_entries');
    return r.rows.map((x) => this.entry(x));
  }

  async addHistory(item: NewHistoryItem): Promise<AlertHistoryItem> {
    const id = randomUUID();
    const created = item.created_at ?? new Date().toISOString();
    await this.pool.query(
      `INSERT INTO alert_history (id, rule_id, rule_name, event_id, plate, camera_id, channel, status, error, attempts, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [id, item.rule_id, item.rule_name, item.event_id, item.plate, item.camera_id, item.channel, item.status, item.error ?? null, item.attempts, created],
    );
    return historyFromRow({ ...item, id, error: item.error ?? null, created_at: new Date(created).toISOString() });
  }

  async wasDelivered(ruleId: string, eventId: string, channel: Channel): Promise<boolean> {
    const r = await this.pool.query(`SELECT 1 FROM alert_history WHERE event_id = $1 AND rule_id = $2 AND channel = $3 AND status = 'delivered' LIMIT 1`, [
      eventId,
      ruleId,
      channel,
    ]);
    return r.rowCount !== null && r.rowCount > 0;
  }

  async queryHistory(q: HistoryQuery): Promise<{ items: AlertHistoryItem[]; total: number }> {
    const clauses: string[] = [];
    const params: unknown[] = [];
    const add = (sql: (n: number) => string, v: unknown) => {
      params.push(v);
      clauses.push(sql(params.length));
    };
    if (q.rule) add((n) => `(rule_name = $${n} OR rule_id = $${n})`, q.rule);
    if (q.plate) add((n) => `plate = $${n}`, q.plate);
    if (q.channel) add((n) => `channel = $${n}`, q.channel);
    if (q.status) add((n) => `status = $${n}`, q.status);
    if (q.start_time) add((n) => `created_at >= $${n}`, q.start_time);
    if (q.end_time) add((n) => `created_at < $${n}`, q.end_time);
    const where = clauses.length ? `WHERE ${clauses.join(' AND ')}` : '';
    const total = Number((await this.pool.query(`SELECT count(*) AS n FROM alert_history ${where}`, params)).rows[0].n);
    const n = params.length;
    const r = await this.pool.query(`SELECT * FROM alert_history ${where} ORDER BY created_at DESC, id LIMIT $${n + 1} OFFSET $${n + 2}`, [
      ...params,
      q.limit,
      q.offset,
    ]);
    return {
      items: r.rows.map((x) =>
        historyFromRow({ ...(x as AlertHistoryItem & { error: string | null }), created_at: iso(x.created_at), attempts: Number(x.attempts) }),
      ),
      total,
    };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

export async function openPostgresAlertStore(url: string): Promise<PostgresAlertStore> {
  const store = new PostgresAlertStore(url);
  try {
    await store.migrate();
  } catch (err) {
    await store.close().catch(() => {});
    throw new AlprError('STORAGE_UNAVAILABLE', `cannot prepare the alert tables in PostgreSQL: ${(err as Error).message}`, { retriable: true, cause: err });
  }
  return store;
}
