/**
 * Start at login (and, with automatic login, at boot: the unattended Jetson box) on Linux,
 * without Electron: either an XDG autostart entry (~/.config/autostart, honoured by GNOME,
 * KDE, Xfce, LXDE) or a systemd user unit tied to the graphical session, which also restarts
 * the app if it dies. Enabling the unit is the symlink `systemctl --user enable` would make;
 * the caller runs `systemctl --user daemon-reload` where systemd is running.
 */
import { existsSync, lstatSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from './settings.js';

export const APP_ID = 'ovr-alpr-console';

export type AutostartMethod = 'xdg' | 'systemd';

export interface AutostartTarget {
  /** Absolute path of the executable (process.execPath of the packaged app, or an AppImage path). */
  exec: string;
  args?: readonly string[];
  /** Extra environment for the started app (systemd only; XDG entries have no such key). */
  env?: Record<string, string>;
}

export interface AutostartPaths {
  desktopFile: string;
  unitFile: string;
  wantsLink: string;
}

/** $XDG_CONFIG_HOME or ~/.config. */
export function configHome(env: Record<string, string | undefined> = process.env): string {
  return env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(env.HOME ?? homedir(), '.config');
}

export function autostartPaths(home: string): AutostartPaths {
  return {
    desktopFile: join(home, 'autostart', `${APP_ID}.desktop`),
    unitFile: join(home, 'systemd', 'user', `${APP_ID}.service`),
    wantsLink: join(home, 'systemd', 'user', 'graphical-session.target.wants', `${APP_ID}.service`),
  };
}

/** A newline in an argument would start a new key in the .desktop file or the unit. */
function hasControlChar(a: string): boolean {
  for (let i = 0; i < a.length; i++) {
    const c = a.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

function checkArg(a: string): void {
  if (hasControlChar(a)) throw new RangeError(`autostart command arguments must not contain control characters: ${JSON.stringify(a)}`);
}

/**
 * One argument for a desktop entry's Exec key (Desktop Entry Specification, "The Exec key"):
 * quoted when it has a reserved character, with `"`, `` ` ``, `$` and `\` backslash-escaped
 * inside the quotes, `%` doubled, and then the string-level escaping of `\` for the file.
 */
export function desktopExecArg(a: string): string {
  checkArg(a);
  const pct = a.replace(/%/g, '%%');
  const quoted = /[\s"'\\><~|&;$*?#()`]/.test(pct) || pct === '' ? `"${pct.replace(/(["`$\\])/g, '\\$1')}"` : pct;
  return quoted.replace(/\\/g, '\\\\');
}

/** One argument for systemd's ExecStart: double-quoted, C-style escapes, `%` and `$` doubled (no specifier or variable expansion). */
export function systemdExecArg(a: string): string {
  checkArg(a);
  const escaped = a.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return /[\s"'\\;]/.test(a) || a === '' || escaped !== a ? `"${escaped}"` : a;
}

export function desktopEntry(t: AutostartTarget): string {
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Version=1.4',
    'Name=OVR-ALPR Console',
    'Comment=Licence-plate recognition console (started at login)',
    `Exec=${[t.exec, ...(t.args ?? [])].map(desktopExecArg).join(' ')}`,
    `Icon=${APP_ID}`,
    'Terminal=false',
    'X-GNOME-Autostart-enabled=true',
    'X-GNOME-Autostart-Delay=5',
    '',
  ].join('\n');
}

export function systemdUnit(t: AutostartTarget): string {
  const env = Object.entries(t.env ?? {}).map(([k, v]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new RangeError(`invalid environment variable name ${JSON.stringify(k)}`);
    return `Environment=${systemdExecArg(`${k}=${v}`)}`;
  });
  return [
    '[Unit]',
    'Description=OVR-ALPR Console (licence-plate recognition)',
    'PartOf=graphical-session.target',
    'After=graphical-session.target network-online.target',
    'Wants=network-online.target',
    // Do not fight a crash loop forever: 5 starts in 5 minutes, then systemd gives up.
    'StartLimitIntervalSec=300',
    'StartLimitBurst=5',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${[t.exec, ...(t.args ?? [])].map(systemdExecArg).join(' ')}`,
    ...env,
    'Restart=on-failure',
    'RestartSec=5',
    // Electron and the pipeline child get SIGTERM together; the app stops the pipeline itself.
    'KillMode=mixed',
    'TimeoutStopSec=30',
    '',
    '[Install]',
    'WantedBy=graphical-session.target',
    '',
  ].join('\n');
}

export interface AutostartState {
  xdg: boolean;
  systemd: boolean;
}

export function autostartState(home: string): AutostartState {
  const p = autostartPaths(home);
  return { xdg: existsSync(p.desktopFile), systemd: existsSync(p.unitFile) && linkExists(p.wantsLink) };
}

function linkExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

export interface AutostartChange {
  state: AutostartState;
  /** Files written or removed. */
  changed: string[];
  /** What the caller should run afterwards, if anything (systemd needs a daemon-reload). */
  followUp: string[] | null;
}

/**
 * Enables start-at-login with `method` (removing the other method's files, so the app is never
 * started twice), or disables both.
 */
export function setAutostart(opts: { enabled: boolean; method: AutostartMethod; target: AutostartTarget; home: string }): AutostartChange {
  const p = autostartPaths(opts.home);
  const changed: string[] = [];
  const remove = (path: string) => {
    if (linkExists(path)) {
      rmSync(path, { force: true });
      changed.push(path);
    }
  };
  const useXdg = opts.enabled && opts.method === 'xdg';
  const useSystemd = opts.enabled && opts.method === 'systemd';
  if (useXdg) {
    writeFileAtomic(p.desktopFile, desktopEntry(opts.target), 0o644);
    changed.push(p.desktopFile);
  } else remove(p.desktopFile);
  if (useSystemd) {
    writeFileAtomic(p.unitFile, systemdUnit(opts.target), 0o644);
    changed.push(p.unitFile);
    if (!linkExists(p.wantsLink)) {
      mkdirSync(dirname(p.wantsLink), { recursive: true });
      // Relative, like systemctl's own links, so the config folder can move.
      symlinkSync(`../${APP_ID}.service`, p.wantsLink);
      changed.push(p.wantsLink);
    }
  } else {
    remove(p.wantsLink);
    remove(p.unitFile);
  }
  const touchedSystemd = changed.some((f) => f === p.unitFile || f === p.wantsLink);
  return { state: autostartState(opts.home), changed, followUp: touchedSystemd ? ['systemctl', '--user', 'daemon-reload'] : null };
}
