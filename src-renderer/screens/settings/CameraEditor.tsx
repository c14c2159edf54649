/** The add/edit camera form: fields checked as typed with the pipeline's schema, connection test, snapshot and ROI. */
import { useEffect, useMemo, useState } from 'react';
import { ApiRequestError, errorText } from '../../api/client';
import { addCamera, snapshotUrl, testSource, updateCamera, type Applied, type CameraRaw, type ProbeResult } from '../../api/settings';
import { FormFooter } from '../../components/FormFooter';
import { Spinner } from '../../components/Spinner';
import { cameraIssues, formFromCamera, issuesByField, toCamera, type CameraForm, EMPTY_CAMERA } from './camera-form';
import { RoiEditor } from './RoiEditor';

function Field({ label, name, error, children }: { label: string; name: string; error?: string; children: React.ReactNode }) {
  return (
    <label data-field={name}>
      {label}
      {children}
      {error && (
        <span className="field-error" id={`cam-${name}-error`} role="alert">
          {error}
        </span>
      )}
    </label>
  );
}

export function CameraEditor({
  original,
  onSaved,
  onCancel,
}: {
  original: CameraRaw | null;
  onSaved: (applied: Applied, id: string) => void;
  onCancel: () => void;
}) {
  const [form, setForm] = useState<CameraForm>(() => (original ? formFromCamera(original) : EMPTY_CAMERA));
  const [touched, setTouched] = useState<Record<string, boolean>>({});
  const [serverIssues, setServerIssues] = useState<Record<string, string>>({});
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<string | null>(null);
  const [probe, setProbe] = useState<ProbeResult | null>(null);
  const [probing, setProbing] = useState(false);
  const [snap, setSnap] = useState<string | null>(null);
  const [snapError, setSnapError] = useState<string | null>(null);
  const [snapping, setSnapping] = useState(false);
  const keep = original ?? {};
  const issues = useMemo(() => cameraIssues(form, keep), [form, keep]);
  const set = <K extends keyof CameraForm>(k: K, v: CameraForm[K]) => {
    setForm((f) => ({ ...f, [k]: v }));
    setTouched((t) => ({ ...t, [k]: true }));
    setServerIssues((s) => ({ ...s, [k]: '' }));
  };
  const err = (k: string) => serverIssues[k] || (touched[k] || touched._all ? issues[k] : undefined);
  useEffect(() => () => void (snap && URL.revokeObjectURL(snap)), [snap]);

  const sourceRef = () => ({
    source: form.source.trim(),
    type: form.type || undefined,
    transport: form.transport,
    width: form.width ? Number(form.width) : undefined,
    height: form.height ? Number(form.height) : undefined,
  });

  const runTest = async () => {
    setProbing(true);
    setProbe(null);
    try {
      setProbe(await testSource(sourceRef()));
    } catch (e) {
      setProbe({ ok: false, error: errorText(e), elapsed_ms: 0 });
    } finally {
      setProbing(false);
    }
  };
  const runSnapshot = async () => {
    setSnapping(true);
    setSnapError(null);
    try {
      setSnap(await snapshotUrl(sourceRef()));
    } catch (e) {
      setSnapError(errorText(e));
    } finally {
      setSnapping(false);
    }
  };
  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    setTouched({ _all: true });
    if (Object.keys(issues).length > 0) return;
    setSaving(true);
    setSaveError(null);
    try {
      const body = toCamera(form, keep);
      const r = original?.id ? await updateCamera(original.id, body) : await addCamera(body);
      onSaved(r.applied, r.camera.id);
    } catch (err) {
      if (err instanceof ApiRequestError && err.issues.length) setServerIssues(issuesByField(err.issues));
      setSaveError(errorText(err));
    } finally {
      setSaving(false);
    }
  };
  const inv = (k: string) => (err(k) ? { 'aria-invalid': true as const, 'aria-describedby': `cam-${k}-error` } : {});
  const effective = form.type || (/^rtsps?:\/\//i.test(form.source) ? 'rtsp' : /^\/dev\/video\d+$/.test(form.source) ? 'v4l2' : 'file');

  return (
    <form className="camera-editor" onSubmit={save} noValidate>
      <div className="form-grid">
        <Field label="Camera id" name="id" error={err('id')}>
          <input name="id" value={form.id} onChange={(e) => set('id', e.target.value)} placeholder="gate-1" {...inv('id')} autoFocus />
        </Field>
        <Field label="Source (file, rtsp:// URL, /dev/videoN)" name="source" error={err('source')}>
          <input
            name="source"
            value={form.source}
            onChange={(e) => set('source', e.target.value)}
            placeholder="rtsp://user@10.0.0.5/stream1"
            {...inv('source')}
          />
        </Field>
        <Field label="Type" name="type" error={err('type')}>
          <select name="type" value={form.type} onChange={(e) => set('type', e.target.value as CameraForm['type'])}>
            <option value="">from the source ({effective})</option>
            <option value="file">file</option>
            <option value="rtsp">rtsp</option>
            <option value="v4l2">v4l2 (USB)</option>
            <option value="custom">custom command</option>
          </select>
        </Field>
        <Field label="Plate region" name="region" error={err('region')}>
          <select name="region" value={form.region} onChange={(e) => set('region', e.target.value as CameraForm['region'])}>
            <option value="">from recognition.yaml</option>
            <option value="us">us</option>
            <option value="eu">eu</option>
            <option value="any">any</option>
          </select>
        </Field>
        {effective === 'rtsp' && (
          <Field label="RTSP transport" name="transport">
            <select name="transport" value={form.transport} onChange={(e) => set('transport', e.target.value as 'tcp' | 'udp')}>
              <option value="tcp">tcp</option>
              <option value="udp">udp</option>
            </select>
          </Field>
        )}
        <Field label="fps cap" name="fps_cap" error={err('fps_cap')}>
          <input
            name="fps_cap"
            inputMode="decimal"
            value={form.fps_cap}
            onChange={(e) => set('fps_cap', e.target.value)}
            placeholder="none"
            {...inv('fps_cap')}
          />
        </Field>
        <Field label="Width (px)" name="width" error={err('width')}>
          <input
            name="width"
            inputMode="numeric"
            value={form.width}
            onChange={(e) => set('width', e.target.value)}
            placeholder="as delivered"
            {...inv('width')}
          />
        </Field>
        <Field label="Height (px)" name="height" error={err('height')}>
          <input
            name="height"
            inputMode="numeric"
            value={form.height}
            onChange={(e) => set('height', e.target.value)}
            placeholder="as delivered"
            {...inv('height')}
          />
        </Field>
        <Field label="Queue (frames)" name="queue" error={err('queue')}>
          <input name="queue" inputMode="numeric" value={form.queue} onChange={(e) => set('queue', e.target.value)} placeholder="4" {...inv('queue')} />
        </Field>
        {effective === 'custom' && (
          <Field label="Command (writes raw rgb24)" name="command" error={err('command')}>
            <input name="command" value={form.command} onChange={(e) => set('command', e.target.value)} {...inv('command')} />
          </Field>
        )}
      </div>
      <div className="actions camera-flags">
        <label className="inline">
          <input type="checkbox" name="enabled" checked={form.enabled} onChange={(e) => set('enabled', e.target.checked)} /> Enabled
        </label>
        {effective === 'file' && (
          <>
            <label className="inline">
              <input type="checkbox" name="loop" checked={form.loop} onChange={(e) => set('loop', e.target.checked)} /> Loop the file
            </label>
            <label className="inline">
              <input type="checkbox" name="realtime" checked={form.realtime} onChange={(e) => set('realtime', e.target.checked)} /> Real time
            </label>
          </>
        )}
        {(err('loop') || err('realtime')) && <span className="field-error">{err('loop') || err('realtime')}</span>}
      </div>

      <fieldset className="camera-probe">
        <legend>Connection</legend>
        <div className="actions">
          <button type="button" onClick={runTest} disabled={!form.source.trim() || probing}>
            Test connection
          </button>
          <button type="button" onClick={runSnapshot} disabled={!form.source.trim() || snapping}>
            {snap ? 'New snapshot' : 'Snapshot for ROI'}
          </button>
          {probing && <Spinner label="Probing the source…" delayMs={0} />}
          {snapping && <Spinner label="Grabbing a frame…" delayMs={0} />}
        </div>
        {probe && (
          <p className={probe.ok ? 'ok-text probe-result' : 'danger-text probe-result'} role="status" data-testid="probe-result">
            {probe.ok
              ? `Connected: ${probe.codec ?? 'video'} ${probe.width}×${probe.height}${probe.fps ? ` at ${probe.fps} fps` : ''} (${probe.elapsed_ms} ms)`
              : `Cannot read the source: ${probe.error}`}
          </p>
        )}
        {snapError && (
          <p className="danger-text" role="alert">
            {snapError}
          </p>
        )}
      </fieldset>

      <fieldset className="camera-roi">
        <legend>Region of interest</legend>
        {snap ? (
          <RoiEditor image={snap} points={form.roi} onChange={(p) => set('roi', p)} />
        ) : (
          <p className="muted">
            {form.roi.length ? `${form.roi.length} points set. ` : 'No ROI: the whole frame is used. '}Take a snapshot to draw the ROI on the picture.
          </p>
        )}
        {err('roi') && <span className="field-error">{err('roi')}</span>}
      </fieldset>

      <fieldset className="camera-roi">
        <legend>Direction line (in / out)</legend>
        {snap ? (
          <RoiEditor image={snap} points={form.direction_line} onChange={(p) => set('direction_line', p)} shape="line" />
        ) : (
          <p className="muted">
            {form.direction_line.length === 2 ? 'A line is set. ' : 'No line: direction comes from the motion in the picture. '}Take a snapshot to draw the line
            on the picture.
          </p>
        )}
        {err('direction_line') && <span className="field-error">{err('direction_line')}</span>}
      </fieldset>

      <FormFooter submitLabel={original ? 'Save camera' : 'Add camera'} saving={saving} saveError={saveError} onCancel={onCancel} />
    </form>
  );
}
