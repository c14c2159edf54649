/**
 * The camera edit form as plain data: text fields as typed, converted to the camera object the
 * API takes and checked with the pipeline's own schema (CameraConfig), so a form error is the
 * same sentence the server would give. No DOM here, so it is unit-tested under node.
 */
import { CameraConfig, inferCameraType } from '../../../src-pipeline/common/cameras-config.js';

export type Point = [number, number];

export interface CameraForm {
  id: string;
  source: string;
  /** '' = infer from the source. */
  type: '' | 'file' | 'rtsp' | 'v4l2' | 'custom';
  transport: 'tcp' | 'udp';
  region: '' | 'us' | 'eu' | 'any';
  enabled: boolean;
  loop: boolean;
  realtime: boolean;
  fps_cap: string;
  width: string;
  height: string;
  command: string;
  queue: string;
  roi: Point[];
  /** In/out reference line: none, or the two points the operator placed (one point = unfinished). */
  direction_line: Point[];
}

export const EMPTY_CAMERA: CameraForm = {
  id: '',
  source: '',
  type: '',
  transport: 'tcp',
  region: '',
  enabled: true,
  loop: false,
  realtime: false,
  fps_cap: '',
  width: '',
  height: '',
  command: '',
  queue: '',
  roi: [],
  direction_line: [],
};

const str = (v: unknown) => (v === undefined || v === null ? '' : String(v));

/** The form for a camera as written in the file. Keys the form does not edit are kept by `toCamera`. */
export function formFromCamera(raw: Record<string, unknown>): CameraForm {
  return {
    id: str(raw.id),
    source: str(raw.source),
    type: (raw.type as CameraForm['type']) ?? '',
    transport: raw.transport === 'udp' ? 'udp' : 'tcp',
    region: (raw.region as CameraForm['region']) ?? '',
    enabled: raw.enabled !== false,
    loop: raw.loop === true,
    realtime: raw.realtime === true,
    fps_cap: str(raw.fps_cap),
    width: str(raw.width),
    height: str(raw.height),
    command: str(raw.command),
    queue: str(raw.queue),
    roi: Array.isArray(raw.roi) ? (raw.roi as Point[]).map(([x, y]) => [x, y] as Point) : [],
    direction_line: Array.isArray(raw.direction_line) ? (raw.direction_line as Point[]).map(([x, y]) => [x, y] as Point) : [],
  };
}

/** Keys the form edits: absent from its output means removed, never "keep the old value". */
const FORM_KEYS = new Set<string>([...Object.keys(EMPTY_CAMERA), 'type', 'transport']);

/** A number field: '' → absent; anything else as typed (NaN stays NaN for the schema to reject). */
function num(s: string): number | undefined {
  const t = s.trim();
  return t === '' ? undefined : Number(t);
}

/** The camera object sent to the API: only what is set, so the file stays as short as the operator's intent. */
export function toCamera(f: CameraForm, keep: Record<string, unknown> = {}): Record<string, unknown> {
  const type = f.type || undefined;
  const effective = type ?? inferCameraType(f.source.trim());
  const out: Record<string, unknown> = { id: f.id.trim(), source: f.source.trim() };
  if (type) out.type = type;
  if (effective === 'rtsp' && f.transport !== 'tcp') out.transport = f.transport;
  if (f.region) out.region = f.region;
  if (!f.enabled) out.enabled = false;
  if (effective === 'file' && f.loop) out.loop = true;
  if (effective === 'file' && f.realtime) out.realtime = true;
  const fps = num(f.fps_cap);
  if (fps !== undefined) out.fps_cap = fps;
  const w = num(f.width);
  const h = num(f.height);
  if (w !== undefined) out.width = w;
  if (h !== undefined) out.height = h;
  if (effective === 'custom' && f.command.trim()) out.command = f.command.trim();
  const q = num(f.queue);
  if (q !== undefined) out.queue = q;
  if (f.roi.length > 0) out.roi = f.roi.map(([x, y]) => [Math.round(x), Math.round(y)]);
  // Sent as placed, even half-done (one point): the schema then names the field instead of the
  // line silently disappearing.
  if (f.direction_line.length > 0) out.direction_line = f.direction_line.map(([x, y]) => [Math.round(x), Math.round(y)]);
  for (const [k, v] of Object.entries(keep)) if (!(k in out) && !FORM_KEYS.has(k)) out[k] = v;
  return out;
}

/** Field → first message, from the shared schema. Empty when the camera is valid. */
export function cameraIssues(f: CameraForm, keep?: Record<string, unknown>): Record<string, string> {
  const parsed = CameraConfig.safeParse(toCamera(f, keep));
  const out: Record<string, string> = {};
  if (parsed.success) return out;
  for (const i of parsed.error.issues) {
    const key = i.path.length ? String(i.path[0]) : 'id';
    out[key] ??= i.message;
  }
  return out;
}

/** Issues from an API error (paths like `roi` or `roi.1`) keyed by the form's top-level field. */
export function issuesByField(issues: readonly { path: string; message: string }[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const i of issues) out[i.path.split('.')[0] || 'id'] ??= i.message;
  return out;
}
