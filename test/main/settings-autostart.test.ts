/**
 * Settings persistence (zod-validated JSON, atomic writes, invalid files moved aside) and the
 * start-at-login files (XDG autostart entry, systemd user unit), written into temp folders.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  autostartPaths,
  autostartState,
  configHome,
  desktopEntry,
  desktopExecArg,
  setAutostart,
  systemdExecArg,
  systemdUnit,
} from '../../src-main/autostart.js';
import { applyPatch, DEFAULT_SETTINGS, Settings, SettingsStore } from '../../src-main/settings.js';

const dir = mkdtempSync(join(tmpdir(), 'ovr-main-settings-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('settings', () => {
  it('a missing file gives the defaults; update writes a valid file (mode 0600) and reads back', () => {
    const store = new SettingsStore(join(dir, 'a', 'settings.json'));
    const { settings, warning } = store.load();
    assert.equal(warning, null);
    assert.deepEqual(settings, DEFAULT_SETTINGS);
    const next = store.update({ window: { kiosk: true }, startAtLogin: true, backend: { mode: 'connect', kafkaBrokers: ['10.0.0.5:9092'] } });
    assert.equal(next.window.kiosk, true);
    assert.equal(next.window.fullscreen, false, 'untouched keys keep their value');
    assert.deepEqual(store.load().settings, next);
    assert.equal(statSync(store.path).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(join(dir, 'a')), ['settings.json'], 'no temp file left behind');
  });

  it('an older file with missing sections gets the defaults for them', () => {
    const p = join(dir, 'old.json');
    writeFileSync(p, JSON.stringify({ version: 1, window: { kiosk: true } }));
    const { settings, warning } = new SettingsStore(p).load();
    assert.equal(warning, null);
    assert.equal(settings.window.kiosk, true);
    assert.deepEqual(settings.pipeline, DEFAULT_SETTINGS.pipeline);
  });

  it('an invalid file is moved aside with a warning naming the problem, and the defaults are used', () => {
    for (const [name, body, problem] of [
      ['bad-json.json', '{ not json', /JSON/],
      ['bad-value.json', JSON.stringify({ version: 1, pipeline: { port: 'eighty' } }), /pipeline\.port/],
      ['bad-key.json', JSON.stringify({ version: 1, window: { kiosk: false, bogus: 1 } }), /bogus/],
    ] as const) {
      const p = join(dir, name);
      writeFileSync(p, body);
      const { settings, warning } = new SettingsStore(p).load();
      assert.deepEqual(settings, DEFAULT_SETTINGS);
      assert.match(warning ?? '', problem);
      assert.equal(existsSync(p), false);
      assert.equal(readdirSync(dir).filter((f) => f.startsWith(`${name}.invalid-`)).length, 1);
    }
  });

  it('refuses a patch that would store a password or a bad broker', () => {
    const s = Settings.parse({});
    assert.throws(() => applyPatch(s, { backend: { databaseUrl: 'postgres://alpr:pw@db/alpr' } }), /must not carry a password/);
    assert.throws(() => applyPatch(s, { backend: { kafkaBrokers: ['no-port'] } }), /host:port/);
    assert.equal(applyPatch(s, { backend: { databaseUrl: 'postgres://alpr@db:5432/alpr' } }).backend.databaseUrl, 'postgres://alpr@db:5432/alpr');
  });
});

describe('start at login', () => {
  const target = { exec: '/opt/OVR-ALPR Console/ovr-alpr-console', args: ['--kiosk', '100%', 'a"b$c\\d'], env: { OVR_ALPR_LOG_LEVEL: 'info' } };

  it('quotes Exec arguments as the desktop entry and systemd specs require', () => {
    assert.equal(desktopExecArg('/usr/bin/app'), '/usr/bin/app');
    assert.equal(desktopExecArg('/opt/My App/app'), '"/opt/My App/app"');
    assert.equal(desktopExecArg('100%'), '100%%');
    // Inside quotes: \" \$ \\ ; then the file's own escaping doubles every backslash.
    assert.equal(desktopExecArg('a"b$c\\d'), '"a\\\\"b\\\\$c\\\\\\\\d"');
    assert.equal(systemdExecArg('/usr/bin/app'), '/usr/bin/app');
    assert.equal(systemdExecArg('/opt/My App/app'), '"/opt/My App/app"');
    assert.equal(systemdExecArg('100%'), '"100%%"');
    assert.equal(systemdExecArg('a"b$c\\d'), '"a\\"b$$c\\\\d"');
    assert.throws(() => desktopExecArg('evil\nExec=rm -rf /'), /control characters/);
    assert.throws(() => systemdExecArg('x\ny'), /control characters/);
  });

  it('XDG: writes ~/.config/autostart/ovr-alpr-console.desktop, and removes it again', () => {
    const home = join(dir, 'xdg-home');
    const on = setAutostart({ enabled: true, method: 'xdg', target, home });
    const p = autostartPaths(home);
    assert.deepEqual(on.state, { xdg: true, systemd: false });
    assert.equal(on.followUp, null);
    const text = readFileSync(p.desktopFile, 'utf8');
    assert.equal(text, desktopEntry(target));
    assert.match(text, /^Exec="\/opt\/OVR-ALPR Console\/ovr-alpr-console" --kiosk 100%% /m);
    assert.match(text, /^Type=Application$/m);
    const off = setAutostart({ enabled: false, method: 'xdg', target, home });
    assert.deepEqual(off.state, { xdg: false, systemd: false });
    assert.deepEqual(off.changed, [p.desktopFile]);
  });

  it('systemd: writes the user unit and the graphical-session wants link; switching to XDG removes them', () => {
    const home = join(dir, 'sd-home');
    const on = setAutostart({ enabled: true, method: 'systemd', target, home });
    const p = autostartPaths(home);
    assert.deepEqual(on.state, { xdg: false, systemd: true });
    assert.deepEqual(on.followUp, ['systemctl', '--user', 'daemon-reload']);
    const unit = readFileSync(p.unitFile, 'utf8');
    assert.equal(unit, systemdUnit(target));
    assert.match(unit, /^ExecStart="\/opt\/OVR-ALPR Console\/ovr-alpr-console" --kiosk "100%%" "a\\"b\$\$c\\\\d"$/m);
    assert.match(unit, /^Environment=OVR_ALPR_LOG_LEVEL=info$/m);
    assert.match(unit, /^Restart=on-failure$/m);
    assert.match(unit, /^WantedBy=graphical-session\.target$/m);
    assert.equal(readlinkSync(p.wantsLink), '../ovr-alpr-console.service');
    // Enabling again changes nothing but the unit text.
    assert.deepEqual(setAutostart({ enabled: true, method: 'systemd', target, home }).changed, [p.unitFile]);
    const moved = setAutostart({ enabled: true, method: 'xdg', target, home });
    assert.deepEqual(moved.state, { xdg: true, systemd: false });
    assert.ok(!existsSync(p.unitFile));
    assert.deepEqual(autostartState(home), { xdg: true, systemd: false });
  });

  it('configHome honours XDG_CONFIG_HOME only when absolute', () => {
    assert.equal(configHome({ XDG_CONFIG_HOME: '/cfg', HOME: '/home/op' }), '/cfg');
    assert.equal(configHome({ XDG_CONFIG_HOME: 'relative', HOME: '/home/op' }), '/home/op/.config');
    assert.equal(configHome({ HOME: '/home/op' }), '/home/op/.config');
  });
});
