/**
 * The tray and application menu as plain data (main.ts turns it into Electron menus), so what
 * the operator can do in each pipeline state is tested without Electron.
 */
import type { Settings } from './settings.js';
import type { SupervisorStatus } from './pipeline-supervisor.js';

export type MenuAction =
  | 'show'
  | 'pipeline:start'
  | 'pipeline:stop'
  | 'pipeline:restart'
  | 'open-log'
  | 'toggle-kiosk'
  | 'toggle-fullscreen'
  | 'toggle-start-at-login'
  | 'reload'
  | 'quit';

export type MenuItemModel =
  | { type: 'separator' }
  | { type: 'normal'; label: string; action: MenuAction | null; enabled: boolean }
  | { type: 'checkbox'; label: string; action: MenuAction; enabled: boolean; checked: boolean };

const STATE_LABEL: Record<SupervisorStatus['state'], string> = {
  stopped: 'stopped',
  starting: 'starting…',
  running: 'running',
  restarting: 'restarting after a crash…',
  backoff: 'keeps crashing: waiting before the next try',
  exited: 'exited',
  stopping: 'stopping…',
};

export function pipelineStateLabel(s: SupervisorStatus): string {
  const base = `Pipeline: ${STATE_LABEL[s.state]}`;
  return s.restarts > 0 ? `${base} (${s.restarts} restart${s.restarts === 1 ? '' : 's'})` : base;
}

export function trayTooltip(s: SupervisorStatus): string {
  return `OVR-ALPR Console: ${pipelineStateLabel(s)}${s.attention ? ` ⚠ ${s.attention}` : ''}`;
}

export function trayMenu(s: SupervisorStatus, settings: Settings): MenuItemModel[] {
  const live = s.state === 'starting' || s.state === 'running';
  const waiting = s.state === 'restarting' || s.state === 'backoff';
  return [
    { type: 'normal', label: 'Show console', action: 'show', enabled: true },
    { type: 'separator' },
    { type: 'normal', label: pipelineStateLabel(s), action: null, enabled: false },
    // In backoff, Start is the operator's "try now" (a manual start clears the budget).
    {
      type: 'normal',
      label: s.state === 'backoff' ? 'Start pipeline now' : 'Start pipeline',
      action: 'pipeline:start',
      enabled: !live && s.state !== 'stopping',
    },
    { type: 'normal', label: 'Stop pipeline', action: 'pipeline:stop', enabled: live || waiting },
    { type: 'normal', label: 'Restart pipeline', action: 'pipeline:restart', enabled: live || waiting },
    { type: 'normal', label: 'Open pipeline log', action: 'open-log', enabled: true },
    { type: 'separator' },
    { type: 'checkbox', label: 'Kiosk mode', action: 'toggle-kiosk', enabled: true, checked: settings.window.kiosk },
    {
      type: 'checkbox',
      label: 'Full screen',
      action: 'toggle-fullscreen',
      enabled: !settings.window.kiosk,
      checked: settings.window.fullscreen || settings.window.kiosk,
    },
    { type: 'checkbox', label: 'Start at login', action: 'toggle-start-at-login', enabled: true, checked: settings.startAtLogin },
    { type: 'separator' },
    { type: 'normal', label: 'Quit', action: 'quit', enabled: true },
  ];
}
