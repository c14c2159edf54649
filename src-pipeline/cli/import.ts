/**
 * `ovr-alpr import --events-jsonl FILE --data-dir D`: loads plate events (one PlateEvent JSON
 * per line, the seed's shape) into the embedded store `D/events.sqlite`, so the API can be
 * exercised and benchmarked without video. The file is streamed line by line and written in
 * batches, so memory stays flat for any file size. A bad line is reported (line number and
 * reason) and skipped; it never costs the valid lines around it. Re-running an import is
 * safe: inserts are idempotent on event_id and show up as duplicates.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { PlateEvent } from '../common/plate-event.js';
import { AlprError, toErrorEnvelope } from '../common/errors.js';
import { openSqliteStorage } from '../store/sqlite.js';

export const IMPORT_USAGE = `usage: ovr-alpr import --events-jsonl FILE --data-dir DIR [--batch N]

  --events-jsonl FILE   one plate event JSON per line
  --data-dir DIR        where the embedded store lives (DIR/events.sqlite; created if missing)
  --batch N             events per insert batch (default 5000)
`;

export interface ImportIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

export interface ImportSummary {
  read: number;
  inserted: number;
  duplicates: number;
  invalid: number;
}

/** Database file of the embedded store inside a data dir (shared with `serve`). */
export function eventsDbPath(dataDir: string): string {
  return join(dataDir, 'events.sqlite');
}

function parse(args: string[]) {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: { 'events-jsonl': { type: 'string' }, 'data-dir': { type: 'string' }, batch: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length) throw new Error(`unexpected argument "${positionals[0]}"`);
    if (!values['events-jsonl']) throw new Error('--events-jsonl is required');
    if (!values['data-dir']) throw new Error('--data-dir is required');
    const batch = values.batch === undefined ? 5000 : Number(values.batch);
    if (!Number.isInteger(batch) || batch < 1) throw new Error(`--batch must be a positive integer, got "${values.batch}"`);
    return { file: values['events-jsonl'], dataDir: values['data-dir'], batch };
  } catch (err) {
    throw new AlprError('USAGE', `${(err as Error).message}\n${IMPORT_USAGE}`);
  }
}

/** One line's reason in a form a person can fix: `plate.confidence: Too big: ...`. */
function describeIssues(error: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> }): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.map(String).join('.') || '(event)'}: ${i.message}`)
    .join('; ');
}

export async function importCmd(args: string[], io: ImportIo): Promise<number> {
  let opts: ReturnType<typeof parse>;
  try {
    opts = parse(args);
  } catch (err) {
    io.err(`ovr-alpr import: ${toErrorEnvelope(err).message}`);
    return 2;
  }
  if (!existsSync(opts.file) || !statSync(opts.file).isFile()) {
    io.err(`ovr-alpr import: events file not found: ${opts.file}`);
    return 1;
  }
  const dbPath = eventsDbPath(opts.dataDir);
  const store = await openSqliteStorage(dbPath);
  const summary: ImportSummary = { read: 0, inserted: 0, duplicates: 0, invalid: 0 };
  const t0 = performance.now();
  try {
    const lines = createInterface({ input: createReadStream(opts.file, { encoding: 'utf8' }), crlfDelay: Infinity });
    let batch: PlateEvent[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      const added = await store.insertMany(batch);
      summary.inserted += added;
      summary.duplicates += batch.length - added;
      batch = [];
    };
    let lineNo = 0;
    for await (const line of lines) {
      lineNo++;
      if (!line.trim()) continue;
      summary.read++;
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch (err) {
        summary.invalid++;
        io.err(`${opts.file}:${lineNo}: invalid JSON: ${(err as Error).message}`);
        continue;
      }
      const parsed = PlateEvent.safeParse(json);
      if (!parsed.success) {
        summary.invalid++;
        io.err(`${opts.file}:${lineNo}: invalid event: ${describeIssues(parsed.error)}`);
        continue;
      }
      batch.push(parsed.data);
      if (batch.length >= opts.batch) await flush();
    }
    await flush();
  } finally {
    await store.close();
  }
  const secs = (performance.now() - t0) / 1000;
  io.out(
    `import: read ${summary.read}, inserted ${summary.inserted}, duplicates ${summary.duplicates}, invalid ${summary.invalid} ` +
      `into ${dbPath} in ${secs.toFixed(1)} s`,
  );
  return 0;
}
