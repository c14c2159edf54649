/** Typed calls for the Alerts screen (/alerts/*); shapes come from the shared alert contract. */
import type { AlertHistoryItem, AlertRule, AlertRuleInput, Hotlist, HotlistEntry, HotlistInput } from '../../src-pipeline/common/alert-rules';
import { ApiRequestError, apiGet, apiSend, apiToken, apiUrl, type Query } from './client';

export type HotlistWithSize = Hotlist & { size: number };
export interface ImportResult {
  imported: number;
  skipped: number;
  errors: { line: number; message: string }[];
  preview: HotlistEntry[];
}

const rulePath = (id: string) => `/alerts/rules/${encodeURIComponent(id)}`;
const listPath = (name: string) => `/alerts/hotlists/${encodeURIComponent(name)}`;

export const listRules = (signal?: AbortSignal) => apiGet<{ rules: AlertRule[] }>('/alerts/rules', undefined, signal);
export const createRule = (rule: AlertRuleInput) => apiSend<AlertRule>('POST', '/alerts/rules', rule);
export const updateRule = (id: string, rule: AlertRuleInput) => apiSend<AlertRule>('PUT', rulePath(id), rule);
export const setRuleEnabled = (id: string, enabled: boolean) => apiSend<AlertRule>('PATCH', rulePath(id), { enabled });
export const deleteRule = (id: string) => apiSend<void>('DELETE', rulePath(id));
export const testRule = (id: string) => apiSend<{ results: { channel: string; ok: boolean; error?: string }[] }>('POST', `${rulePath(id)}/test`);

export const listHotlists = (signal?: AbortSignal) => apiGet<{ hotlists: HotlistWithSize[] }>('/alerts/hotlists', undefined, signal);
export const createHotlist = (h: HotlistInput) => apiSend<Hotlist>('POST', '/alerts/hotlists', h);
export const deleteHotlist = (name: string) => apiSend<void>('DELETE', listPath(name));
export const listEntries = (name: string, q: Query, signal?: AbortSignal) =>
  apiGet<{ items: HotlistEntry[]; total: number }>(`${listPath(name)}/entries`, q, signal);
export const addEntry = (name: string, e: { plate: string; reason?: string; expires_at?: string }) =>
  apiSend<HotlistEntry>('POST', `${listPath(name)}/entries`, e);
export const removeEntry = (name: string, plate: string) => apiSend<void>('DELETE', `${listPath(name)}/entries/${encodeURIComponent(plate)}`);
export const exportCsvUrl = (name: string) => {
  const token = apiToken();
  return apiUrl(`${listPath(name)}/export.csv`, token ? { token } : undefined);
};

/** CSV import (the body is the CSV text); dry_run first to show what would happen. */
export async function importCsv(name: string, csv: string, dryRun: boolean): Promise<ImportResult> {
  const headers = new Headers({ 'content-type': 'text/csv', accept: 'application/json' });
  const token = apiToken();
  if (token) headers.set('authorization', `Bearer ${token}`);
  const res = await fetch(apiUrl(`${listPath(name)}/import`, { dry_run: dryRun }), { method: 'POST', headers, body: csv });
  const body = (await res.json().catch(() => null)) as (ImportResult & { error?: { code: string; message: string; field?: string } }) | null;
  if (!res.ok || !body) {
    throw new ApiRequestError({
      code: body?.error?.code ?? `HTTP_${res.status}`,
      message: body?.error?.message ?? `the server answered ${res.status}`,
      status: res.status,
    });
  }
  return body;
}

export const listHistory = (q: Query, signal?: AbortSignal) => apiGet<{ items: AlertHistoryItem[]; total: number }>('/alerts/history', q, signal);
