/**
 * Hotlist CSV: `plate,reason,expires_at` with a header row (RFC 4180 quoting). Import reports
 * every bad line with its number instead of failing the whole file; export quotes fields and
 * defuses spreadsheet formulas (a reason starting with `=` is exported as `'=`).
 */
import { HotlistEntryInput, toValidationIssues, type HotlistEntry } from '../common/alert-rules.js';
import type { EntryRow } from './store.js';

export interface CsvImport {
  rows: EntryRow[];
  errors: { line: number; message: string }[];
  /** Lines that held nothing (blank) or repeated an earlier plate. */
  skipped: number;
}

/** Splits CSV text into records of fields, with the line each record starts on. */
export function parseCsv(text: string): { line: number; fields: string[] }[] {
  const out: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let start = 1;
  let any = false;
  const s = text.replace(/^\uFEFF/, '');
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (quoted) {
      if (ch === '"') {
        if (s[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"' && field === '') {
      quoted = true;
      any = true;
    } else if (ch === ',') {
      fields.push(field);
      field = '';
      any = true;
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && s[i + 1] === '\n') i++;
      fields.push(field);
      out.push({ line: start, fields: any || field ? fields : [] });
      fields = [];
      field = '';
      any = false;
      line++;
      start = line;
    } else {
      field += ch;
      any = true;
    }
  }
  if (any || field) {
    fields.push(field);
    out.push({ line: start, fields });
  }
  return out;
}

export function importHotlistCsv(text: string): CsvImport {
  const records = parseCsv(text);
  const rows: EntryRow[] = [];
  const errors: CsvImport['errors'] = [];
  let skipped = 0;
  const seen = new Set<string>();
  let cols = { plate: 0, reason: 1, expires_at: 2 };
  let first = true;
  for (const r of records) {
    if (r.fields.length === 0 || r.fields.every((f) => f.trim() === '')) {
      skipped++;
      continue;
    }
    if (first) {
      first = false;
      const header = r.fields.map((f) => f.trim().toLowerCase());
      if (header.includes('plate')) {
        cols = { plate: header.indexOf('plate'), reason: header.indexOf('reason'), expires_at: header.indexOf('expires_at') };
        continue;
      }
    }
    const get = (i: number) => (i >= 0 && i < r.fields.length ? r.fields[i].trim() : '');
    const input: Record<string, string> = { plate: get(cols.plate) };
    if (get(cols.reason)) input.reason = get(cols.reason);
    if (get(cols.expires_at)) input.expires_at = get(cols.expires_at);
    const parsed = HotlistEntryInput.safeParse(input);
    if (!parsed.success) {
      errors.push({
        line: r.line,
        message: toValidationIssues(parsed.error.issues)
          .map((i) => `${i.path}: ${i.message}`)
          .join('; '),
      });
      continue;
    }
    if (seen.has(parsed.data.plate)) {
      skipped++;
      continue;
    }
    seen.add(parsed.data.plate);
    rows.push({
      plate: parsed.data.plate,
      reason: parsed.data.reason,
      expires_at: parsed.data.expires_at ? new Date(parsed.data.expires_at).toISOString() : undefined,
    });
  }
  return { rows, errors, skipped };
}

function csvField(v: string | undefined): string {
  let s = v ?? '';
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n']/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function exportHotlistCsv(entries: readonly HotlistEntry[]): string {
  const lines = ['plate,reason,expires_at'];
  for (const e of entries) lines.push([csvField(e.plate), csvField(e.reason), csvField(e.expires_at)].join(','));
  return `${lines.join('\r\n')}\r\n`;
}
