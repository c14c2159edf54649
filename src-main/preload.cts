/**
 * Preload for the console window: exposes `window.ovrAlpr` (invoke + on) over the allowlisted
 * channels only, and nothing of Node or Electron itself. CommonJS (.cts → preload.cjs) because
 * a sandboxed preload cannot load ES modules, and self-contained because it cannot require
 * local files either: the channel names are repeated here, and the type checks below make tsc
 * fail when they drift from ipc-contract.ts. Main validates every payload again (the preload
 * runs in the renderer and is not trusted to do it).
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { EventChannel, EventPayload, InvokeChannel, InvokeRequest, InvokeResponse, IpcResult } from './ipc-contract.js' with {
  'resolution-mode': 'import',
};

const INVOKE_CHANNELS = [
  'app:info',
  'pipeline:status',
  'pipeline:start',
  'pipeline:stop',
  'pipeline:restart',
  'pipeline:logs',
  'settings:get',
  'settings:update',
  'backend:check',
  'backend:up',
  'backend:down',
  'backend:status',
] as const satisfies readonly InvokeChannel[];
const EVENT_CHANNELS = ['pipeline:status-changed', 'pipeline:log', 'backend:progress'] as const satisfies readonly EventChannel[];

// Both lists must cover the contract exactly: a channel missing here fails compilation.
type Covered<All, Listed> = [Exclude<All, Listed>] extends [never] ? true : { missing: Exclude<All, Listed> };
const invokeCovered: Covered<InvokeChannel, (typeof INVOKE_CHANNELS)[number]> = true;
const eventsCovered: Covered<EventChannel, (typeof EVENT_CHANNELS)[number]> = true;
void invokeCovered;
void eventsCovered;

const allowedInvoke = new Set<string>(INVOKE_CHANNELS);
const allowedEvents = new Set<string>(EVENT_CHANNELS);

const api = {
  invoke<C extends InvokeChannel>(channel: C, ...payload: InvokeRequest<C> extends undefined ? [] : [InvokeRequest<C>]): Promise<IpcResult<InvokeResponse<C>>> {
    if (typeof channel !== 'string' || !allowedInvoke.has(channel)) {
      return Promise.resolve({ ok: false, error: { code: 'UNKNOWN_CHANNEL', message: `channel ${String(channel)} is not allowed` } });
    }
    return ipcRenderer.invoke(channel, payload[0]) as Promise<IpcResult<InvokeResponse<C>>>;
  },
  /** Subscribes to an event; returns the unsubscribe function. The Electron event object is never passed on. */
  on<C extends EventChannel>(channel: C, listener: (payload: EventPayload<C>) => void): () => void {
    if (typeof channel !== 'string' || !allowedEvents.has(channel)) throw new Error(`event channel ${String(channel)} is not allowed`);
    if (typeof listener !== 'function') throw new TypeError('listener must be a function');
    const wrapped = (_event: IpcRendererEvent, payload: EventPayload<C>) => listener(payload);
    ipcRenderer.on(channel, wrapped);
    return () => {
      ipcRenderer.removeListener(channel, wrapped);
    };
  },
};

export type OvrAlprBridge = typeof api;

contextBridge.exposeInMainWorld('ovrAlpr', Object.freeze(api));
