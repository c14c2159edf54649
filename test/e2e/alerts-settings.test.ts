/**
 * End to end through the console in Debian's Chromium (playwright-core) against a real
 * `ovr-alpr serve` (in-process, token on, temp config and data dirs, an empty cameras file):
 *  - an alert rule is created through the form (inline validation seen first) with a webhook
 *    action pointing at a local HTTP receiver on 127.0.0.1;
 *  - a camera playing shared clip 04 is added in Settings: its connection test reports the
 *    clip's size, an ROI is drawn on the snapshot, and the running pipeline starts it at once;
 *  - the clip's plate LS15EBC becomes an event, the rule fires and the receiver gets the webhook;
 *  - Health shows the camera; the alert history lists the delivery.
 * Screenshots of Alerts, Health and Settings go to test-artifacts/ on every run.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { serveCmd } from '../../src-pipeline/cli/serve.js';
import { loadCamerasConfig } from '../../src-pipeline/ingest/cameras.js';
import { projectRoot } from '../../src-pipeline/paths.js';
import { startReceiver, type HttpReceiver } from '../support/http-receiver.js';
import { browserSkip, buildRenderer, CLIPS, launchBrowser, screenshot, type TestBrowser } from '../support/browser.js';
import { kafkaBrokers, kafkaSkip } from '../support/services.js';
import { ffmpegSkip } from '../support/tools.js';

const CLIP04 = CLIPS.roundabout;
const TOKEN = 'e2e-alerts-settings-token';

// The server runs in this process (not startServe's child): it needs a running pipeline with an
// empty cameras file, so that the camera added in Settings is the one that starts.
const skip = browserSkip() || ffmpegSkip();

describe('console: alert rule form, camera settings, health (Chromium)', { skip, concurrency: false }, () => {
  let tmp: string;
  let camerasFile: string;
  let url: string;
  let stopServe: () => Promise<void>;
  let receiver: HttpReceiver;
  let browser: TestBrowser;
  let page: Page;
  const serverErr: string[] = [];
  let savedUiDir: string | undefined;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'ovr-e2e-b-'));
    const uiDir = await buildRenderer();
    // The project's config files, so recognition behaves as shipped, but edits land in the temp copy.
    const configDir = join(tmp, 'config');
    mkdirSync(configDir);
    for (const f of readdirSync(join(projectRoot(), 'config')))
      if (f.endsWith('.yaml') && f !== 'cameras.yaml' && f !== 'alert_rules.yaml') copyFileSync(join(projectRoot(), 'config', f), join(configDir, f));
    camerasFile = join(tmp, 'cameras.yaml');
    writeFileSync(camerasFile, '# cameras added from the console\ncameras: []\n');
    receiver = await startReceiver();

    // The server reads the console folder from process.env (it runs in this process).
    savedUiDir = process.env.OVR_ALPR_UI_DIR;
    process.env.OVR_ALPR_UI_DIR = uiDir;
    const ac = new AbortController();
    let resolveUrl!: (u: string) => void;
    const listening = new Promise<string>((r) => (resolveUrl = r));
    const done = serveCmd(['--data-dir', join(tmp, 'data'), '--cameras', camerasFile, '--config', configDir, '--port', '0', '--log-level', 'warn'], {
      out: (line) => {
        const m = /listening on (\S+)/.exec(line);
        if (m) resolveUrl(m[1]);
      },
      err: (line) => serverErr.push(line),
      signal: ac.signal,
      env: { ...process.env, OVR_ALPR_API_TOKEN: TOKEN, OVR_ALPR_UI_DIR: uiDir, OVR_ALPR_CONFIG_DIR: configDir },
    });
    url = await Promise.race([listening, done.then((code) => Promise.reject(new Error(`serve exited ${code}: ${serverErr.join('\n')}`)))]);
    stopServe = async () => {
      ac.abort();
      await done;
    };
    browser = await launchBrowser();
    page = await browser.newPage();
    page.on('dialog', (d) => void d.accept());
  });

  after(async () => {
    if (browser?.pageErrors.length) process.stderr.write(`page errors:\n${browser.pageErrors.join('\n')}\n`);
    await browser?.close();
    await stopServe?.();
    await receiver?.close();
    if (savedUiDir === undefined) delete process.env.OVR_ALPR_UI_DIR;
    else process.env.OVR_ALPR_UI_DIR = savedUiDir;
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('creates a rule through the form, with inline validation first', async () => {
    await page.goto(`${url}/ui/?token=${TOKEN}#/alerts`);
    await page.getByRole('heading', { name: 'Alerts', level: 1 }).waitFor();
    await page.getByText('No alert rules').waitFor();
    await page.getByRole('button', { name: 'New rule' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.locator('input[name="name"]').fill('LS15EBC watch');
    await dialog.getByRole('button', { name: 'Add plate pattern' }).click();
    await dialog.locator('select[name="plates.0.match"]').selectOption('regex');
    await dialog.locator('input[name="plates.0.pattern"]').fill('LS15(');
    // The shared schema's message, shown as typed, before anything is sent.
    await dialog.getByText(/invalid regular expression/).waitFor();
    await dialog.locator('select[name="plates.0.match"]').selectOption('exact');
    await dialog.locator('input[name="plates.0.pattern"]').fill('LS15EBC');
    await dialog.locator('input[name="actions.0.url"]').fill('not a url');
    await dialog.getByRole('button', { name: 'Create rule' }).click();
    await dialog.locator('#rule-actions-0-url-err').waitFor();
    await dialog.locator('input[name="actions.0.url"]').fill(`${receiver.url}/alpr-hook`);
    await dialog.getByRole('button', { name: 'Create rule' }).click();
    await page.locator('tr[data-rule="LS15EBC watch"]').waitFor();
    assert.equal(await page.getByRole('checkbox', { name: 'Disable rule LS15EBC watch' }).isChecked(), true);
    await screenshot(page, 'alerts');
  });

  it('adds a camera in Settings: connection test reports the clip size, ROI drawn, applied live', async () => {
    await page.goto(`${url}/ui/#/settings`);
    await page.getByText('No cameras yet').waitFor();
    await page.getByRole('button', { name: 'Add camera' }).first().click();
    const dialog = page.getByRole('dialog');
    await dialog.locator('input[name="id"]').fill('gate 1');
    await dialog.locator('input[name="source"]').fill(CLIP04);
    await dialog.getByRole('button', { name: 'Add camera' }).click();
    await dialog.locator('#cam-id-error').waitFor();
    await dialog.locator('input[name="id"]').fill('gate-1');
    await dialog.locator('select[name="region"]').selectOption('eu');
    await dialog.getByRole('button', { name: 'Test connection' }).click();
    const probe = dialog.getByTestId('probe-result');
    await probe.waitFor({ timeout: 20_000 });
    assert.match(await probe.innerText(), /Connected: h264 1280×720 at 30 fps/);
    await dialog.getByRole('button', { name: 'Snapshot for ROI' }).click();
    const surface = dialog.getByTestId('roi-surface');
    await surface.waitFor({ timeout: 20_000 });
    await dialog
      .locator('.roi-canvas img')
      .first()
      .evaluate((el) => {
        // Typed structurally: the test project has no DOM lib.
        const img = el as unknown as { complete: boolean; addEventListener(type: 'load', f: () => void): void };
        return img.complete ? null : new Promise<void>((r) => img.addEventListener('load', () => r()));
      });
    const box = (await surface.boundingBox())!;
    // Nearly the whole frame, so the plate's vehicle stays inside.
    for (const [fx, fy] of [
      [0.005, 0.005],
      [0.995, 0.005],
      [0.995, 0.995],
      [0.005, 0.995],
    ])
      await surface.click({ position: { x: box.width * fx, y: box.height * fy } });
    await dialog.getByText('4 points').waitFor();
    // Keyboard: arrows move the cursor, Enter adds a point, Backspace takes the last one away.
    await surface.focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    await dialog.getByText('5 points').waitFor();
    await page.keyboard.press('Backspace');
    await dialog.getByText('4 points').waitFor();
    // The in/out line across the lower half, left to right: "in" is toward the camera (down).
    const line = dialog.getByTestId('direction-surface');
    const lbox = (await line.boundingBox())!;
    await line.click({ position: { x: lbox.width * 0.1, y: lbox.height * 0.6 } });
    await dialog.getByText('Click the second point of the line.').waitFor();
    await line.click({ position: { x: lbox.width * 0.9, y: lbox.height * 0.6 } });
    await dialog.getByText('Crossing toward the arrow is "in"', { exact: false }).waitFor();
    await screenshot(page, 'settings-camera-editor');
    await dialog.getByRole('button', { name: 'Add camera' }).click();
    await page.getByText('Camera gate-1 saved; the pipeline applied it now.').waitFor({ timeout: 30_000 });
    await page.locator('tr[data-camera="gate-1"]').waitFor();
    const saved = loadCamerasConfig(camerasFile).cameras;
    assert.deepEqual(
      saved.map((c) => [c.id, c.source, c.region, c.roi?.length]),
      [['gate-1', CLIP04, 'eu', 4]],
    );
    const [[lx1, ly1], [lx2, ly2]] = saved[0].direction_line!;
    assert.ok(
      lx1 < 200 && lx2 > 1080 && Math.abs(ly1 - 432) < 10 && Math.abs(ly2 - 432) < 10,
      `line in frame pixels: ${JSON.stringify(saved[0].direction_line)}`,
    );
    const [x2, y2] = saved[0].roi![2];
    assert.ok(x2 > 1260 && x2 <= 1280 && y2 > 700 && y2 <= 720, `ROI in frame pixels: ${JSON.stringify(saved[0].roi)}`);
    await screenshot(page, 'settings');
  });

  it('the rule fires a webhook on the clip’s plate; Health and the history show it', async () => {
    const requests = await receiver.waitFor(1, 180_000).catch((err: Error) => {
      throw new Error(`${err.message}; server log:\n${serverErr.slice(-30).join('\n')}`);
    });
    const hook = requests.find((r) => r.path === '/alpr-hook');
    assert.ok(hook, JSON.stringify(requests.map((r) => r.path)));
    assert.equal(hook.method, 'POST');
    assert.match(hook.body, /LS15EBC/);
    assert.match(hook.body, /gate-1/);

    await page.goto(`${url}/ui/#/health`);
    await page.getByRole('heading', { name: 'Health', level: 1 }).waitFor();
    await page.locator('table.health-cameras td', { hasText: 'gate-1' }).waitFor({ timeout: 15_000 });
    // Two samples, so the rate charts have a line.
    await page.waitForTimeout(3500);
    await screenshot(page, 'health');

    await page.goto(`${url}/ui/#/alerts`);
    await page.locator('tr[data-history-plate="LS15EBC"]').first().waitFor({ timeout: 15_000 });
    const row = await page.locator('tr[data-history-plate="LS15EBC"]').first().innerText();
    assert.match(row, /LS15EBC watch/);
    assert.match(row, /webhook/);
    assert.match(row, /delivered/);
    await screenshot(page, 'alerts-history');
  });

  it('manages a hotlist: add and remove plates, CSV import checked by a dry run first', async () => {
    await page.goto(`${url}/ui/#/alerts`);
    await page.getByText('No hotlists').waitFor();
    await page.locator('input[name="hotlist-name"]').fill('stolen');
    await page.locator('select[name="hotlist-priority"]').selectOption('high');
    await page.getByRole('button', { name: 'Create hotlist' }).click();
    await page.getByText('This hotlist is empty').waitFor();
    await page.locator('input[name="entry-plate"]').fill('ab12 cde');
    await page.locator('input[name="entry-reason"]').fill('reported stolen');
    await page.getByRole('button', { name: 'Add plate' }).click();
    await page.locator('.hotlist-entries .plate-text', { hasText: 'AB12CDE' }).waitFor();

    await page.locator('.csv-import summary').click();
    await page.locator('textarea[name="csv"]').fill('plate,reason,expires_at\nXY99ZZZ,bulk,2030-01-01T00:00:00Z\n!!!,bad,\n');
    await page.getByText('1 with errors').waitFor();
    await page.getByRole('button', { name: 'Check (dry run)' }).click();
    const dry = page.locator('.dry-run');
    await dry.waitFor();
    assert.match(await dry.innerText(), /would import 1/);
    assert.match(await dry.innerText(), /line 3/);
    await screenshot(page, 'alerts-hotlists');
    await page.getByRole('button', { name: 'Import 1 plate(s)' }).click();
    await page.getByText(/Imported 1 plate\(s\)/).waitFor();
    await page.locator('.hotlist-entries .plate-text', { hasText: 'XY99ZZZ' }).waitFor();
    await page.getByRole('button', { name: 'Remove AB12CDE' }).click();
    await page.locator('.hotlist-entries .plate-text', { hasText: 'AB12CDE' }).waitFor({ state: 'detached' });
    await page
      .getByText('1 plate · ')
      .or(page.getByText(/^1 plate$/))
      .first()
      .waitFor();
  });

  it('"Send test" delivers through the rule’s webhook', async () => {
    await page.goto(`${url}/ui/#/alerts`);
    const before = receiver.requests.length;
    await page.locator('tr[data-rule="LS15EBC watch"]').getByRole('button', { name: 'Send test' }).click();
    await page.getByTestId('rules-notice').filter({ hasText: 'Test of "LS15EBC watch": webhook delivered' }).waitFor({ timeout: 20_000 });
    await receiver.waitFor(before + 1);
    assert.equal(receiver.requests.at(-1)?.path, '/alpr-hook');
  });

  it('editing the camera restarts it with the new config; removing it stops it', async () => {
    await page.goto(`${url}/ui/#/settings`);
    // The clip has ended by now; looping it in real time turns it into a camera that keeps running.
    await page.locator('tr[data-camera="gate-1"]').getByRole('button', { name: 'Edit' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.locator('input[name="loop"]').check();
    await dialog.locator('input[name="realtime"]').check();
    await dialog.getByRole('button', { name: 'Save camera' }).click();
    await page.getByText('Camera gate-1 saved; the pipeline applied it now.').waitFor({ timeout: 30_000 });
    const cameras = async () =>
      (
        (await (await fetch(`${url}/cameras`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as {
          cameras: { id: string; state: string; frames: number }[];
        }
      ).cameras;
    const deadline = Date.now() + 60_000;
    let now = await cameras();
    while (!(now[0]?.state === 'running' && now[0].frames > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      now = await cameras();
    }
    assert.equal(now.length, 1);
    assert.equal(now[0].state, 'running', JSON.stringify(now));
    const saved = loadCamerasConfig(camerasFile).cameras[0];
    assert.deepEqual([saved.loop, saved.realtime, saved.region, saved.roi?.length], [true, true, 'eu', 4]);

    await page.locator('tr[data-camera="gate-1"]').getByRole('button', { name: 'Remove' }).click();
    await page.getByText('Camera gate-1 removed; the pipeline applied it now.').waitFor({ timeout: 30_000 });
    await page.getByText('No cameras yet').waitFor();
    const res = await fetch(`${url}/cameras`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const body = (await res.json()) as { cameras: { id: string }[] };
    assert.deepEqual(body.cameras, []);
    assert.deepEqual(loadCamerasConfig(camerasFile).cameras, []);
    assert.match(readFileSync(camerasFile, 'utf8'), /# cameras added from the console/);
  });

  it('backend connection test in Settings reaches the real broker', { skip: kafkaSkip('test/e2e/alerts-settings.test.ts') }, async () => {
    await page.goto(`${url}/ui/#/settings`);
    const brokers = page.locator('input[name="brokers"]');
    await brokers.fill(kafkaBrokers().join(', '));
    await page.locator('select[name="format"]').selectOption('json');
    await page.getByRole('region', { name: 'Backend connection' }).getByRole('button', { name: 'Test connection' }).click();
    const check = page.getByTestId('backend-check');
    await check.waitFor({ timeout: 20_000 });
    assert.match(await check.innerText(), /Kafka: up, \d+ broker/);
    await screenshot(page, 'settings-backend');
  });

  it('the pages threw no uncaught errors', () => {
    // Console errors (a refused request, say) are printed in after(); an uncaught exception is a bug.
    assert.deepEqual(
      browser.pageErrors.filter((e) => e.startsWith('pageerror')),
      [],
    );
  });
});
