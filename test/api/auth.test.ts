/** Bind rules and token auth: non-loopback needs a token; with one, every route but /health needs it. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { WebSocket } from 'ws';
import { isLoopbackHost, redactUrl, tokensEqual } from '../../src-pipeline/api/auth.js';
import { createApiServer } from '../../src-pipeline/api/server.js';
import { AlprError } from '../../src-pipeline/common/errors.js';
import { openTestStore, startServer, type Running, type TestStore } from './support.js';

const TOKEN = 'test-token-0123456789';

describe('bind address', () => {
  it('knows loopback from everything else', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) assert.ok(isLoopbackHost(h), h);
    for (const h of ['0.0.0.0', '::', '192.168.1.10', 'example.com', '10.0.0.1']) assert.ok(!isLoopbackHost(h), h);
  });

  it('createApiServer refuses a non-loopback host without a token, before binding anything', async () => {
    const s = await openTestStore();
    try {
      for (const host of ['0.0.0.0', '::', '192.168.1.10']) {
        await assert.rejects(
          createApiServer({ storage: s.storage, host }),
          (err: unknown) => err instanceof AlprError && err.code === 'CONFIG_INVALID' && /without a token/.test(err.message),
        );
      }
      await assert.rejects(createApiServer({ storage: s.storage, host: '0.0.0.0', token: 'short' }), /at least 8/);
      // With a token the server can be built for 0.0.0.0 (not started: this test binds nothing public).
      const ok = await createApiServer({ storage: s.storage, host: '0.0.0.0', token: TOKEN });
      await ok.close();
    } finally {
      await s.cleanup();
    }
  });
});

describe('token auth', () => {
  let store: TestStore;
  let run: Running;
  const logLines: string[] = [];
  before(async () => {
    store = await openTestStore();
    // Capture the server log to prove the token never reaches it.
    const sink = new Writable({
      write(chunk, _enc, cb) {
        logLines.push(String(chunk));
        cb();
      },
    });
    run = await startServer({ storage: store.storage, token: TOKEN, logger: { level: 'info', stream: sink } });
  });
  after(async () => {
    await run.server.close();
    await store.cleanup();
  });

  it('401 without a token or with a wrong one, on data routes, docs and metrics', async () => {
    for (const p of ['/', '/stats', '/events/recent', '/events/search?plate=ABC', '/metrics', '/docs/json', '/audit', '/nope']) {
      const res = await fetch(`${run.url}${p}`);
      assert.equal(res.status, 401, p);
      const body = (await res.json()) as { error: { code: string } };
      assert.equal(body.error.code, 'UNAUTHORIZED');
      const wrong = await fetch(`${run.url}${p}`, { headers: { authorization: 'Bearer wrong-token-xxxxxxxx' } });
      assert.equal(wrong.status, 401, p);
      await wrong.arrayBuffer();
    }
  });

  it('200 with the Bearer header or ?token=', async () => {
    const h = await fetch(`${run.url}/events/recent`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(h.status, 200);
    await h.arrayBuffer();
    const q = await fetch(`${run.url}/events/search.csv?plate=ABC&token=${TOKEN}`);
    assert.equal(q.status, 200);
    await q.arrayBuffer();
  });

  it('/health stays open', async () => {
    const res = await fetch(`${run.url}/health`);
    assert.equal(res.status, 200);
    await res.arrayBuffer();
  });

  it('the WebSocket feed needs the token too', async () => {
    const ws = `${run.url.replace(/^http/, 'ws')}/live`;
    const refused = await new Promise<number>((resolve) => {
      const c = new WebSocket(ws);
      c.on('unexpected-response', (req, res) => {
        // ws leaves the refused request open; destroy it so the server can close.
        req.destroy();
        resolve(res.statusCode ?? 0);
      });
      c.on('open', () => resolve(101));
      c.on('error', () => undefined);
    });
    assert.equal(refused, 401);
    const hello = await new Promise<string>((resolve, reject) => {
      const c = new WebSocket(`${ws}?token=${TOKEN}`);
      c.on('message', (d) => {
        c.close();
        resolve(JSON.parse(String(d)).type);
      });
      c.on('error', reject);
    });
    assert.equal(hello, 'hello');
  });

  it('audit entries name the token identity, and the token never reaches the log', async () => {
    const r = await fetch(`${run.url}/events/search?plate=XYZ&token=${TOKEN}`);
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    const a = (await (await fetch(`${run.url}/audit?limit=1`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as {
      entries: Array<{ actor: string }>;
    };
    assert.equal(a.entries[0].actor, 'token');
    const log = logLines.join('');
    assert.ok(log.includes('/events/search'), 'requests are logged');
    assert.ok(!log.includes(TOKEN), 'token not in the log');
  });

  it('compares tokens in constant time without leaking length', () => {
    assert.ok(tokensEqual(TOKEN, TOKEN));
    assert.ok(!tokensEqual(TOKEN, `${TOKEN}x`));
    assert.ok(!tokensEqual('', TOKEN));
    assert.equal(redactUrl('/live?a=1&token=secret&b=2'), '/live?a=1&token=[REDACTED]&b=2');
  });
});

describe('CORS', () => {
  it('is off by default and answers configured origins only', async () => {
    const s = await openTestStore();
    const plain = await startServer({ storage: s.storage });
    const cors = await startServer({ storage: s.storage, cors: ['http://console.local'] });
    try {
      const a = await fetch(`${plain.url}/stats`, { headers: { origin: 'http://console.local' } });
      assert.equal(a.headers.get('access-control-allow-origin'), null);
      await a.arrayBuffer();
      const b = await fetch(`${cors.url}/stats`, { headers: { origin: 'http://console.local' } });
      assert.equal(b.headers.get('access-control-allow-origin'), 'http://console.local');
      await b.arrayBuffer();
      const c = await fetch(`${cors.url}/stats`, { headers: { origin: 'http://evil.example' } });
      assert.notEqual(c.headers.get('access-control-allow-origin'), 'http://evil.example');
      await c.arrayBuffer();
    } finally {
      await plain.server.close();
      await cors.server.close();
      await s.cleanup();
    }
  });
});
