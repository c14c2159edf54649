/**
 * The local page the window shows while the console is not reachable: pipeline starting,
 * restarting, in backoff, stopped. Static HTML with no script (STATUS_PAGE_CSP), every value
 * escaped; main.ts loads it as a data: URL and re-renders it on each status change.
 */
import type { LogEntry } from './log-store.js';
import type { SupervisorStatus } from './pipeline-supervisor.js';
import { pipelineStateLabel } from './menu-model.js';
import { STATUS_PAGE_CSP } from './security.js';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function statusPageHtml(s: SupervisorStatus, logs: readonly LogEntry[]): string {
  const busy = s.state === 'starting' || s.state === 'restarting' || s.state === 'stopping';
  const headline =
    s.state === 'starting'
      ? 'Starting the pipeline…'
      : s.state === 'backoff'
        ? 'The pipeline keeps crashing'
        : s.state === 'restarting'
          ? 'The pipeline crashed and is restarting…'
          : s.state === 'stopped' || s.state === 'exited'
            ? 'The pipeline is not running'
            : 'Waiting for the console…';
  const lines = logs.map((e) => `<span class="${e.stream}">${escapeHtml(`${e.at.slice(11, 19)} ${e.stream.padEnd(10)} ${e.line}`)}</span>`).join('\n');
  const next = s.nextStartAt ? `<p>Next try at ${escapeHtml(new Date(s.nextStartAt).toLocaleTimeString())}.</p>` : '';
  const last = s.lastExit ? `<p>Last exit: ${escapeHtml(s.lastExit.message)} at ${escapeHtml(s.lastExit.at)}.</p>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(STATUS_PAGE_CSP)}">
<title>OVR-ALPR Console</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:0;padding:32px 40px;background:#0f1419;color:#e6e6e6}
h1{font-size:22px;margin:0 0 8px}.state{color:#9aa5b1}.attention{background:#5c1d1d;border-left:4px solid #e5534b;padding:10px 14px;margin:16px 0}
pre{background:#161b22;padding:12px;max-height:55vh;overflow:auto;font-size:12px;white-space:pre-wrap}.stderr{color:#f0b37e}.supervisor{color:#7fb7ff}
.spin{display:inline-block;width:12px;height:12px;border:2px solid #7fb7ff;border-right-color:transparent;border-radius:50%;animation:r 1s linear infinite;margin-right:8px}@keyframes r{to{transform:rotate(360deg)}}
</style></head><body>
<h1>${busy ? '<span class="spin"></span>' : ''}${escapeHtml(headline)}</h1>
<p class="state">${escapeHtml(pipelineStateLabel(s))}</p>
${s.attention ? `<div class="attention">${escapeHtml(s.attention)}</div>` : ''}
${last}${next}
<p>Use the tray icon or the Pipeline menu to start, stop or restart it.</p>
<h2>Pipeline log</h2>
<pre>${lines || '(nothing yet)'}</pre>
</body></html>`;
}

export function statusPageUrl(s: SupervisorStatus, logs: readonly LogEntry[]): string {
  return `data:text/html;charset=utf-8,${encodeURIComponent(statusPageHtml(s, logs))}`;
}
