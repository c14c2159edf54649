/**
 * Electron main process: the thin glue between Electron and the plain modules next to it
 * (pipeline-supervisor, ipc-contract, settings, autostart, security, menu-model, status-page).
 * It owns one secure window showing the console that the supervised pipeline's API serves
 * (http://127.0.0.1:<port>/ui/), a tray icon, the application menu and the IPC handlers.
 * Nothing heavy runs here: the pipeline is its own process.
 *
 * Not run on the development/CI machine (no Electron binary there): tsc type-checks it
 * against the electron package's types; the modules it wires are tested with real processes.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, ipcMain, Menu, Notification, session, shell, Tray, type MenuItemConstructorOptions } from 'electron';
import { checkBackend, targetsFromEnv } from '../src-pipeline/backend/connect-checks.js';
import { ComposeLauncher } from '../src-pipeline/backend/compose-launcher.js';
import { configHome, setAutostart } from './autostart.js';
import { checkEvent, dispatch, INVOKE_CHANNELS, type EventChannel, type Handlers } from './ipc-contract.js';
import { trayMenu, trayTooltip, type MenuAction, type MenuItemModel } from './menu-model.js';
import { PipelineSupervisor, servePipelineArgs, type SupervisorStatus } from './pipeline-supervisor.js';
import { contentSecurityPolicy, isAllowedNavigation, isExternalLinkAllowed, isTrustedSender, SECURE_WEB_PREFERENCES } from './security.js';
import { SettingsStore, type Settings } from './settings.js';
import { statusPageUrl } from './status-page.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The app root: the asar (packaged) or the checkout (dist/src-main/ → ../..). */
const APP_ROOT = app.isPackaged ? app.getAppPath() : join(HERE, '..', '..');
/** Plain files shipped beside the asar (electron-builder extraResources), or the checkout. */
const RESOURCES = app.isPackaged ? process.resourcesPath : APP_ROOT;

if (!app.requestSingleInstanceLock()) {
  // Another instance owns the pipeline and the port; it shows its window (second-instance below).
  app.quit();
} else {
  void start();
}

async function start(): Promise<void> {
  await app.whenReady();
  const userData = app.getPath('userData');
  const logFile = join(userData, 'logs', 'pipeline.log');
  const store = new SettingsStore(join(userData, 'settings.json'));
  const loaded = store.load();
  let settings: Settings = loaded.settings;
  if (loaded.warning) notify('Settings were reset', loaded.warning);

  const childEnv = (s: Settings): NodeJS.ProcessEnv => {
    // The Electron binary runs the CLI as plain Node, with Electron's ABI (the native addons are rebuilt for it).
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ELECTRON_RUN_AS_NODE: '1',
      OVR_ALPR_CONFIG_DIR: s.pipeline.configDir ?? join(RESOURCES, 'config'),
      // Fetched weights go to a writable folder (the packaged app folder is not).
      OVR_ALPR_MODEL_DIR: process.env.OVR_ALPR_MODEL_DIR ?? join(userData, 'models'),
    };
    if (s.backend.mode !== 'embedded') {
      if (s.backend.kafkaBrokers.length) env.OVR_ALPR_KAFKA_BROKERS = s.backend.kafkaBrokers.join(',');
      if (s.backend.schemaRegistryUrl) env.OVR_ALPR_SCHEMA_REGISTRY_URL = s.backend.schemaRegistryUrl;
      if (s.backend.s3Endpoint) env.OVR_ALPR_S3_ENDPOINT = s.backend.s3Endpoint;
    }
    return env;
  };
  // With port 0 the first run picks a free port and later restarts reuse it, so the console keeps
  // its origin (its local storage, the CSP and the IPC trust are per origin). A restart that dies
  // before its first heartbeat (the port may have been taken meanwhile) lets the next one pick anew.
  let stickyPort = 0;
  const makeSupervisor = (s: Settings) =>
    new PipelineSupervisor({
      command: process.execPath,
      args: () =>
        servePipelineArgs(join(APP_ROOT, 'bin', 'ovr-alpr.js'), {
          dataDir: s.pipeline.dataDir ?? join(userData, 'data'),
          port: s.pipeline.port || stickyPort,
          configDir: s.pipeline.configDir ?? join(RESOURCES, 'config'),
          extra: s.pipeline.extraArgs,
        }),
      env: childEnv(s),
      heartbeat: { kind: 'http', path: '/health', intervalMs: 5000, timeoutMs: 30_000, startupTimeoutMs: 180_000 },
      logFile,
    });
  let supervisor = makeSupervisor(settings);

  let win: BrowserWindow | null = null;
  let tray: Tray | null = null;
  let quitting = false;
  let apiOrigin: string | null = null;
  let shownUrl: string | null = null;

  const send = <C extends EventChannel>(channel: C, payload: unknown) => {
    if (win && !win.isDestroyed() && apiOrigin && isAllowedNavigation(win.webContents.getURL(), apiOrigin))
      win.webContents.send(channel, checkEvent(channel, payload));
  };

  const showForStatus = (s: SupervisorStatus) => {
    if (!win || win.isDestroyed()) return;
    if (s.state === 'running' && s.url) {
      apiOrigin = new URL(s.url).origin;
      const ui = `${s.url}/ui/`;
      if (shownUrl !== ui) {
        shownUrl = ui;
        void win.loadURL(ui);
      }
    } else if (s.state !== 'running') {
      shownUrl = null;
      void win.loadURL(statusPageUrl(s, supervisor.logs.tail(200)));
    }
  };

  const composeLauncher = () =>
    new ComposeLauncher({
      composeFile: settings.backend.composeFile ?? join(RESOURCES, 'compose', 'docker-compose.yml'),
      projectName: 'ovr-alpr',
      profiles: settings.backend.profiles,
      onProgress: (p) => send('backend:progress', p),
    });

  const applyAutostart = (s: Settings) => {
    const change = setAutostart({
      enabled: s.startAtLogin,
      method: s.autostartMethod,
      // An AppImage runs from a temporary mount: autostart must name the AppImage file itself.
      target: { exec: process.env.APPIMAGE ?? process.execPath, args: s.window.kiosk ? ['--kiosk'] : [] },
      home: configHome(),
    });
    if (change.followUp) execFile(change.followUp[0]!, change.followUp.slice(1), () => undefined);
  };

  const updateSettings = (patch: Parameters<SettingsStore['update']>[0]): Settings => {
    const before = settings;
    settings = store.update(patch);
    if (before.startAtLogin !== settings.startAtLogin || before.autostartMethod !== settings.autostartMethod || before.window.kiosk !== settings.window.kiosk)
      applyAutostart(settings);
    if (win && !win.isDestroyed()) {
      win.setKiosk(settings.window.kiosk);
      if (!settings.window.kiosk) win.setFullScreen(settings.window.fullscreen);
    }
    refreshMenus();
    return settings;
  };

  const handlers: Handlers = {
    'app:info': () => ({
      name: app.getName(),
      version: app.getVersion(),
      platform: process.platform,
      arch: process.arch,
      electron: process.versions.electron ?? null,
      node: process.versions.node,
      userData,
      logFile,
    }),
    'pipeline:status': () => supervisor.status(),
    'pipeline:start': () => {
      supervisor.start();
      return supervisor.status();
    },
    'pipeline:stop': async () => {
      await supervisor.stop();
      return supervisor.status();
    },
    'pipeline:restart': async () => {
      await supervisor.restart();
      return supervisor.status();
    },
    'pipeline:logs': (r) => supervisor.logs.tail(r.limit ?? 500, r.afterSeq ?? 0),
    'settings:get': () => settings,
    'settings:update': async (patch) => {
      const before = settings;
      const next = updateSettings(patch);
      // Pipeline settings take effect with a fresh supervised process.
      if (JSON.stringify(before.pipeline) !== JSON.stringify(next.pipeline) || JSON.stringify(before.backend) !== JSON.stringify(next.backend)) {
        await supervisor.dispose();
        supervisor = makeSupervisor(next);
        wireSupervisor();
        if (next.pipeline.autoStart) supervisor.start();
      }
      return next;
    },
    'backend:check': () => {
      const t = targetsFromEnv(process.env);
      const b = settings.backend;
      if (b.kafkaBrokers.length) t.kafkaBrokers = b.kafkaBrokers;
      if (b.schemaRegistryUrl) t.schemaRegistryUrl = b.schemaRegistryUrl;
      // A password-less URL from settings: pg takes the password from PGPASSWORD / ~/.pgpass.
      if (b.databaseUrl) t.databaseUrl = b.databaseUrl;
      if (b.s3Endpoint && t.s3) t.s3.endpoint = b.s3Endpoint;
      if (b.s3Bucket && t.s3) t.s3.bucket = b.s3Bucket;
      return checkBackend(t);
    },
    'backend:up': () => composeLauncher().up(),
    'backend:down': () => composeLauncher().down(),
    'backend:status': () => composeLauncher().status(),
  };

  for (const channel of INVOKE_CHANNELS) {
    ipcMain.handle(channel, (event, payload) => {
      if (!isTrustedSender(event.senderFrame?.url, apiOrigin)) {
        return { ok: false, error: { code: 'UNTRUSTED_SENDER', message: 'IPC is only answered for the console page' } };
      }
      return dispatch(channel, payload, handlers);
    });
  }

  // ---- session: CSP on the console's responses, no permissions, no downloads ----
  const ses = session.defaultSession;
  ses.webRequest.onHeadersReceived((details, callback) => {
    if (apiOrigin && isAllowedNavigation(details.url, apiOrigin)) {
      callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [contentSecurityPolicy(apiOrigin)] } });
    } else callback({ responseHeaders: details.responseHeaders });
  });
  ses.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
  ses.on('will-download', (event) => event.preventDefault());

  app.on('web-contents-created', (_e, contents) => {
    contents.on('will-navigate', (event, url) => {
      if (!isAllowedNavigation(url, apiOrigin)) event.preventDefault();
    });
    contents.on('will-redirect', (event, url) => {
      if (!isAllowedNavigation(url, apiOrigin)) event.preventDefault();
    });
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler(({ url }) => {
      if (isExternalLinkAllowed(url)) void shell.openExternal(url);
      return { action: 'deny' };
    });
  });

  // ---- window ----
  const kiosk = settings.window.kiosk || process.argv.includes('--kiosk');
  win = new BrowserWindow({
    width: 1440,
    height: 900,
    minWidth: 960,
    minHeight: 600,
    title: 'OVR-ALPR Console',
    icon: iconPath(),
    backgroundColor: '#0f1419',
    kiosk,
    fullscreen: kiosk || settings.window.fullscreen,
    autoHideMenuBar: kiosk,
    show: false,
    webPreferences: { ...SECURE_WEB_PREFERENCES, preload: join(HERE, 'preload.cjs') },
  });
  win.once('ready-to-show', () => win?.show());
  // In kiosk mode closing the window would leave a control-room screen empty: hide to the tray only when not kiosk.
  win.on('close', (event) => {
    if (!quitting && tray && !settings.window.kiosk) {
      event.preventDefault();
      win?.hide();
    }
  });
  showForStatus(supervisor.status());

  const act = async (action: MenuAction) => {
    switch (action) {
      case 'show':
        win?.show();
        win?.focus();
        break;
      case 'pipeline:start':
        supervisor.start();
        break;
      case 'pipeline:stop':
        await supervisor.stop();
        break;
      case 'pipeline:restart':
        await supervisor.restart();
        break;
      case 'open-log':
        if (existsSync(logFile)) await shell.openPath(logFile);
        break;
      case 'toggle-kiosk':
        updateSettings({ window: { kiosk: !settings.window.kiosk } });
        break;
      case 'toggle-fullscreen':
        updateSettings({ window: { fullscreen: !settings.window.fullscreen } });
        break;
      case 'toggle-start-at-login':
        updateSettings({ startAtLogin: !settings.startAtLogin });
        break;
      case 'reload':
        win?.webContents.reload();
        break;
      case 'quit':
        app.quit();
        break;
    }
  };
  const toElectron = (items: MenuItemModel[]): MenuItemConstructorOptions[] =>
    items.map((m) =>
      m.type === 'separator'
        ? { type: 'separator' }
        : {
            type: m.type,
            label: m.label,
            enabled: m.enabled,
            ...(m.type === 'checkbox' ? { checked: m.checked } : {}),
            click: m.action ? () => void act(m.action!) : undefined,
          },
    );

  function refreshMenus(): void {
    const s = supervisor.status();
    const items = toElectron(trayMenu(s, settings));
    tray?.setToolTip(trayTooltip(s));
    tray?.setContextMenu(Menu.buildFromTemplate(items));
    Menu.setApplicationMenu(
      Menu.buildFromTemplate([
        { label: 'Pipeline', submenu: items },
        {
          label: 'View',
          submenu: [
            { role: 'reload' },
            { role: 'resetZoom' },
            { role: 'zoomIn' },
            { role: 'zoomOut' },
            ...(app.isPackaged ? [] : [{ role: 'toggleDevTools' } as const]),
          ],
        },
      ]),
    );
  }

  let lastAttention: string | null = null;
  function wireSupervisor(): void {
    let wasRunning = false;
    supervisor.on('status', (s) => {
      if (s.state === 'running' && s.url) stickyPort = Number(new URL(s.url).port);
      if (s.state === 'restarting' && !wasRunning) stickyPort = 0;
      if (s.state === 'running') wasRunning = true;
      else if (s.state === 'starting') wasRunning = false;
      showForStatus(s);
      refreshMenus();
      send('pipeline:status-changed', s);
      if (s.attention && s.attention !== lastAttention) notify('OVR-ALPR pipeline', s.attention);
      lastAttention = s.attention;
    });
    supervisor.on('log', (e) => send('pipeline:log', e));
  }
  wireSupervisor();

  try {
    tray = new Tray(iconPath());
    tray.on('click', () => void act('show'));
  } catch {
    // Desktops without a status area (some kiosk sessions): the window and its menu remain.
    tray = null;
  }
  refreshMenus();
  if (settings.pipeline.autoStart) supervisor.start();

  app.on('second-instance', () => void act('show'));

  app.on('before-quit', (event) => {
    if (quitting) return;
    quitting = true;
    event.preventDefault();
    // The pipeline finalizes tracks and closes its store before the app goes.
    void supervisor.dispose().finally(() => app.quit());
  });
  app.on('window-all-closed', () => app.quit());
}

function iconPath(): string {
  return join(RESOURCES, app.isPackaged ? 'icons' : join('resources', 'icons'), '256x256.png');
}

function notify(title: string, body: string): void {
  if (Notification.isSupported()) new Notification({ title, body }).show();
}
