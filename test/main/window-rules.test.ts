/** The window's security rules, the tray menu per pipeline state, and the local status page. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { trayMenu, trayTooltip } from '../../src-main/menu-model.js';
import type { SupervisorStatus } from '../../src-main/pipeline-supervisor.js';
import {
  contentSecurityPolicy,
  isAllowedNavigation,
  isExternalLinkAllowed,
  isLoopbackHttpOrigin,
  isTrustedSender,
  SECURE_WEB_PREFERENCES,
} from '../../src-main/security.js';
import { Settings } from '../../src-main/settings.js';
import { statusPageHtml, statusPageUrl } from '../../src-main/status-page.js';

const API = 'http://127.0.0.1:41234';
const base: SupervisorStatus = {
  state: 'running',
  pid: 1,
  url: API,
  startedAt: null,
  lastHeartbeatAt: null,
  restarts: 0,
  restartsInWindow: 0,
  backoffLevel: 0,
  nextStartAt: null,
  lastExit: null,
  attention: null,
};

describe('window security rules', () => {
  it('webPreferences: isolated, sandboxed, no Node anywhere', () => {
    assert.equal(SECURE_WEB_PREFERENCES.contextIsolation, true);
    assert.equal(SECURE_WEB_PREFERENCES.sandbox, true);
    assert.equal(SECURE_WEB_PREFERENCES.nodeIntegration, false);
    assert.equal(SECURE_WEB_PREFERENCES.nodeIntegrationInSubFrames, false);
    assert.equal(SECURE_WEB_PREFERENCES.webSecurity, true);
    assert.equal(SECURE_WEB_PREFERENCES.webviewTag, false);
  });

  it('CSP: only the API origin and its WebSocket; no inline script, no eval, no frames', () => {
    const csp = contentSecurityPolicy(API);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-eval|script-src[^;]*unsafe-inline/);
    assert.match(csp, /connect-src 'self' ws:\/\/127\.0\.0\.1:41234/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /object-src 'none'/);
    assert.throws(() => contentSecurityPolicy('https://evil.example'), /loopback/);
  });

  it('navigation and IPC only for the API origin', () => {
    assert.equal(isAllowedNavigation(`${API}/ui/search`, API), true);
    assert.equal(isAllowedNavigation(`${API}/docs`, API), true);
    for (const bad of [
      'http://127.0.0.1:41235/ui/',
      'https://127.0.0.1:41234/',
      'http://localhost:41234/',
      'file:///etc/passwd',
      'data:text/html,hi',
      'javascript:alert(1)',
      'not a url',
    ]) {
      assert.equal(isAllowedNavigation(bad, API), false, bad);
    }
    assert.equal(isAllowedNavigation(`${API}/ui/`, null), false, 'nothing before the pipeline is up');
    assert.equal(isTrustedSender(`${API}/ui/`, API), true);
    assert.equal(isTrustedSender(undefined, API), false);
    assert.equal(isTrustedSender('data:text/html,x', API), false);
    assert.equal(isExternalLinkAllowed('https://github.com/x'), true);
    assert.equal(isExternalLinkAllowed('http://example.com'), false);
    assert.equal(isExternalLinkAllowed('file:///etc/passwd'), false);
    assert.equal(isLoopbackHttpOrigin(API), true);
    assert.equal(isLoopbackHttpOrigin('http://10.0.0.1:80'), false);
    assert.equal(isLoopbackHttpOrigin('http://127.0.0.1'), false, 'the port is explicit');
  });
});

describe('tray menu', () => {
  const settings = Settings.parse({});
  const enabled = (s: SupervisorStatus) =>
    Object.fromEntries(
      trayMenu(s, settings)
        .filter((m) => m.type !== 'separator' && m.action?.startsWith('pipeline:'))
        .map((m) => [(m as { action: string }).action, (m as { enabled: boolean }).enabled]),
    );

  it('offers what makes sense in each state', () => {
    assert.deepEqual(enabled(base), { 'pipeline:start': false, 'pipeline:stop': true, 'pipeline:restart': true });
    assert.deepEqual(enabled({ ...base, state: 'stopped' }), { 'pipeline:start': true, 'pipeline:stop': false, 'pipeline:restart': false });
    assert.deepEqual(enabled({ ...base, state: 'backoff' }), { 'pipeline:start': true, 'pipeline:stop': true, 'pipeline:restart': true });
    const backoff = trayMenu({ ...base, state: 'backoff', restarts: 6 }, settings);
    assert.ok(backoff.some((m) => m.type === 'normal' && m.label === 'Start pipeline now'));
    assert.ok(backoff.some((m) => m.type === 'normal' && m.label === 'Pipeline: keeps crashing: waiting before the next try (6 restarts)'));
    assert.match(trayTooltip({ ...base, state: 'backoff', attention: 'used its restart budget' }), /⚠ used its restart budget/);
  });
});

describe('status page', () => {
  it('shows the state, the attention message and the log, all escaped, with a no-script CSP', () => {
    const html = statusPageHtml({ ...base, state: 'backoff', attention: '<script>alert(1)</script>', restarts: 6 }, [
      { seq: 1, at: '2026-01-01T10:00:00.000Z', stream: 'stderr', line: 'boom <img src=x onerror=alert(1)>' },
    ]);
    assert.match(html, /The pipeline keeps crashing/);
    assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.match(html, /boom &lt;img src=x onerror=alert\(1\)&gt;/);
    assert.doesNotMatch(html, /<script|<img/);
    assert.match(html, /Content-Security-Policy" content="default-src &#39;none&#39;/);
    assert.ok(statusPageUrl(base, []).startsWith('data:text/html;charset=utf-8,'));
  });
});
