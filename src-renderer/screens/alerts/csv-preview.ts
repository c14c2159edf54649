/**
 * A first look at a hotlist CSV before it is sent: rows split into plate/reason/expires_at and
 * each row checked with the shared HotlistEntryInput rules. The server's dry run stays the
 * authority (it also knows what is already on the list); this catches the obvious at once.
 */
import { validateHotlistEntry } from '../../../src-pipeline/common/alert-rules.js';

export interface CsvRow {
  line: number;
  plate: string;
  reason?: string;
  expires_at?: string;
  error?: string;
}

/** One CSV line → fields (double quotes, "" escapes). */
export function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((s) => s.trim());
}

export function previewCsv(text: string): { rows: CsvRow[]; errors: number } {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const rows: CsvRow[] = [];
  let cols = ['plate', 'reason', 'expires_at'];
  lines.forEach((raw, i) => {
    if (!raw.trim()) return;
    const fields = splitCsvLine(raw);
    if (i === 0 && fields.some((f) => f.toLowerCase() === 'plate')) {
      cols = fields.map((f) => f.toLowerCase());
      return;
    }
    const get = (name: string) => {
      const idx = cols.indexOf(name);
      const v = idx >= 0 ? fields[idx] : undefined;
      return v ? v : undefined;
    };
    const input = { plate: get('plate') ?? '', reason: get('reason'), expires_at: get('expires_at') };
    const row: CsvRow = { line: i + 1, ...input };
    const r = validateHotlistEntry(Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)));
    if (!r.ok) row.error = r.issues.map((x) => `${x.path}: ${x.message}`).join('; ');
    else row.plate = r.entry.plate;
    rows.push(row);
  });
  return { rows, errors: rows.filter((r) => r.error).length };
}
