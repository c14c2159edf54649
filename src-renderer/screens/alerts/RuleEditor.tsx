/**
 * The rule form: every condition and every action type, validated as typed with the shared
 * validateRule (the API's own check), server issues mapped back onto the same fields.
 */
import { useMemo, useState } from 'react';
import { CHANNELS, DAYS, MATCH_TYPES, MAX_FUZZY_DISTANCE, type AlertRule, type Channel } from '../../../src-pipeline/common/alert-rules';
import { createRule, updateRule } from '../../api/alerts';
import { ApiRequestError, errorText } from '../../api/client';
import { FormFooter } from '../../components/FormFooter';
import { EMPTY_ACTION, EMPTY_RULE, formFromRule, formIssues, ruleFormIssues, toRuleInput, type ActionRow, type RuleForm } from './rule-form';

function Err({ msg, id }: { msg?: string; id: string }) {
  return msg ? (
    <span className="field-error" id={id} role="alert">
      {msg}
    </span>
  ) : null;
}

export function RuleEditor({ rule, onSaved, onCancel }: { rule: AlertRule | null; onSaved: (r: AlertRule) => void; onCancel: () => void }) {
  const [form, setForm] = useState<RuleForm>(() => (rule ? formFromRule(rule) : { ...EMPTY_RULE, actions: [{ ...EMPTY_ACTION }] }));
  const [showAll, setShowAll] = useState(false);
  const [touched, setTouched] = useState<Set<string>>(new Set());
  const [server, setServer] = useState<Record<string, string>>({});
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<string | null>(null);
  const issues = useMemo(() => ruleFormIssues(form), [form]);

  const touch = (k: string) => setTouched((t) => new Set(t).add(k));
  const update = (patch: Partial<RuleForm>, key: string) => {
    setForm((f) => ({ ...f, ...patch }));
    touch(key);
    setServer((s) => ({ ...s, [key]: '' }));
  };
  const err = (k: string) => server[k] || (showAll || touched.has(k) ? issues[k] : undefined);
  const a11y = (k: string) => (err(k) ? { 'aria-invalid': true as const, 'aria-describedby': `rule-${k.replace(/\./g, '-')}-err` } : {});
  const E = ({ k }: { k: string }) => <Err msg={err(k)} id={`rule-${k.replace(/\./g, '-')}-err`} />;
  const text = (k: keyof RuleForm, label: string, placeholder = '') => (
    <label>
      {label}
      <input
        name={k}
        value={form[k] as string}
        placeholder={placeholder}
        onChange={(e) => update({ [k]: e.target.value } as Partial<RuleForm>, k)}
        {...a11y(k)}
      />
      <E k={k} />
    </label>
  );

  const setPlate = (i: number, patch: Partial<RuleForm['plates'][number]>) =>
    update({ plates: form.plates.map((p, j) => (j === i ? { ...p, ...patch } : p)) }, `plates.${i}.${Object.keys(patch)[0]}`);
  const setAction = (i: number, patch: Partial<ActionRow>) =>
    update({ actions: form.actions.map((a, j) => (j === i ? { ...a, ...patch } : a)) }, `actions.${i}.${Object.keys(patch)[0]}`);

  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    setShowAll(true);
    if (Object.keys(issues).length) return;
    setSaving(true);
    setSaveError(null);
    try {
      const input = toRuleInput(form);
      onSaved(rule ? await updateRule(rule.id, input) : await createRule(input));
    } catch (err) {
      if (err instanceof ApiRequestError && err.issues.length) setServer(formIssues(err.issues));
      setSaveError(errorText(err));
    } finally {
      setSaving(false);
    }
  };

  return (
    <form className="rule-editor" onSubmit={save} noValidate>
      <div className="form-grid">
        {text('name', 'Rule name', 'Stolen vehicles at the gate')}
        {text('description', 'Description')}
        <label className="inline">
          <input type="checkbox" name="enabled" checked={form.enabled} onChange={(e) => update({ enabled: e.target.checked }, 'enabled')} /> Enabled
        </label>
      </div>

      <fieldset>
        <legend>Plates</legend>
        {form.plates.length === 0 && <p className="muted">Any plate (add a pattern to narrow it down).</p>}
        {form.plates.map((p, i) => (
          <div className="form-row" key={i} data-plate-row={i}>
            <label>
              Pattern
              <input
                name={`plates.${i}.pattern`}
                value={p.pattern}
                onChange={(e) => setPlate(i, { pattern: e.target.value })}
                {...a11y(`plates.${i}.pattern`)}
              />
              <E k={`plates.${i}.pattern`} />
            </label>
            <label>
              Match
              <select name={`plates.${i}.match`} value={p.match} onChange={(e) => setPlate(i, { match: e.target.value as typeof p.match })}>
                {MATCH_TYPES.map((m) => (
                  <option key={m}>{m}</option>
                ))}
              </select>
            </label>
            {p.match === 'fuzzy' && (
              <label>
                Max distance (0–{MAX_FUZZY_DISTANCE})
                <input
                  name={`plates.${i}.max_distance`}
                  inputMode="decimal"
                  value={p.max_distance}
                  onChange={(e) => setPlate(i, { max_distance: e.target.value })}
                  {...a11y(`plates.${i}.max_distance`)}
                />
                <E k={`plates.${i}.max_distance`} />
              </label>
            )}
            <button
              type="button"
              className="danger"
              onClick={() => update({ plates: form.plates.filter((_, j) => j !== i) }, 'plates')}
              aria-label={`Remove plate pattern ${i + 1}`}
            >
              Remove
            </button>
          </div>
        ))}
        <button type="button" onClick={() => update({ plates: [...form.plates, { pattern: '', match: 'exact', max_distance: '' }] }, 'plates')}>
          Add plate pattern
        </button>
      </fieldset>

      <fieldset>
        <legend>Where and when</legend>
        <div className="form-grid">
          {text('hotlists', 'On hotlists (comma separated, * = any)', 'stolen, wanted')}
          {text('cameras', 'Cameras', 'all')}
          {text('sites', 'Sites', 'all')}
          {text('min_confidence', 'Minimum confidence (0–1)', '0.8')}
          {text('vehicle_types', 'Vehicle types', 'car, truck')}
          {text('directions', 'Directions', 'in, out')}
          <label>
            Hours from
            <input
              name="hours_from"
              value={form.hours_from}
              placeholder="22:00"
              onChange={(e) => update({ hours_from: e.target.value }, 'hours')}
              {...a11y('hours')}
            />
          </label>
          <label>
            Hours to
            <input
              name="hours_to"
              value={form.hours_to}
              placeholder="06:00"
              onChange={(e) => update({ hours_to: e.target.value }, 'hours')}
              {...a11y('hours')}
            />
            <E k="hours" />
          </label>
          {text('timezone', 'Time zone (IANA)', 'UTC')}
        </div>
        <div className="actions days" role="group" aria-label="Days">
          {DAYS.map((d) => (
            <label className="inline" key={d}>
              <input
                type="checkbox"
                name={`day-${d}`}
                checked={form.days.includes(d)}
                onChange={(e) =>
                  update({ days: e.target.checked ? DAYS.filter((x) => x === d || form.days.includes(x)) : form.days.filter((x) => x !== d) }, 'days')
                }
              />
              {d}
            </label>
          ))}
          <span className="muted">{form.days.length === 0 ? 'every day' : ''}</span>
        </div>
      </fieldset>

      <fieldset>
        <legend>Actions</legend>
        {form.actions.length === 0 && <p className="muted">No action: matches are only recorded in the history.</p>}
        {form.actions.map((a, i) => (
          <div className="action-row card" key={i} data-action-row={i}>
            <div className="form-grid">
              <label>
                Channel
                <select name={`actions.${i}.channel`} value={a.channel} onChange={(e) => setAction(i, { channel: e.target.value as Channel })}>
                  {CHANNELS.map((c) => (
                    <option key={c}>{c}</option>
                  ))}
                </select>
                <E k={`actions.${i}.channel`} />
              </label>
              {(a.channel === 'email' || a.channel === 'sms') && (
                <label>
                  {a.channel === 'email' ? 'To (emails, comma separated)' : 'To (E.164 numbers, comma separated)'}
                  <input name={`actions.${i}.to`} value={a.to} onChange={(e) => setAction(i, { to: e.target.value })} {...a11y(`actions.${i}.to`)} />
                  <E k={`actions.${i}.to`} />
                </label>
              )}
              {a.channel === 'email' && (
                <label>
                  Subject
                  <input
                    name={`actions.${i}.subject`}
                    value={a.subject}
                    placeholder="Plate {{plate}} at {{camera_id}}"
                    onChange={(e) => setAction(i, { subject: e.target.value })}
                  />
                  <E k={`actions.${i}.subject`} />
                </label>
              )}
              {a.channel === 'slack' && (
                <>
                  <label>
                    Webhook URL variable (preferred)
                    <input
                      name={`actions.${i}.webhook_url_env`}
                      value={a.webhook_url_env}
                      placeholder="SLACK_WEBHOOK_URL"
                      onChange={(e) => setAction(i, { webhook_url_env: e.target.value })}
                      {...a11y(`actions.${i}.webhook_url_env`)}
                    />
                    <E k={`actions.${i}.webhook_url_env`} />
                  </label>
                  <label>
                    or Webhook URL
                    <input
                      name={`actions.${i}.webhook_url`}
                      value={a.webhook_url}
                      onChange={(e) => setAction(i, { webhook_url: e.target.value })}
                      {...a11y(`actions.${i}.webhook_url`)}
                    />
                    <E k={`actions.${i}.webhook_url`} />
                  </label>
                </>
              )}
              {a.channel === 'webhook' && (
                <>
                  <label>
                    URL
                    <input
                      name={`actions.${i}.url`}
                      value={a.url}
                      placeholder="https://example.org/alpr"
                      onChange={(e) => setAction(i, { url: e.target.value })}
                      {...a11y(`actions.${i}.url`)}
                    />
                    <E k={`actions.${i}.url`} />
                  </label>
                  <label>
                    Signing key variable
                    <input
                      name={`actions.${i}.secret_env`}
                      value={a.secret_env}
                      placeholder="ALPR_WEBHOOK_KEY"
                      onChange={(e) => setAction(i, { secret_env: e.target.value })}
                      {...a11y(`actions.${i}.secret_env`)}
                    />
                    <E k={`actions.${i}.secret_env`} />
                  </label>
                  <label>
                    Authorization variable
                    <input
                      name={`actions.${i}.auth_env`}
                      value={a.auth_env}
                      onChange={(e) => setAction(i, { auth_env: e.target.value })}
                      {...a11y(`actions.${i}.auth_env`)}
                    />
                    <E k={`actions.${i}.auth_env`} />
                  </label>
                  <label>
                    Timeout (ms)
                    <input
                      name={`actions.${i}.timeout_ms`}
                      inputMode="numeric"
                      value={a.timeout_ms}
                      onChange={(e) => setAction(i, { timeout_ms: e.target.value })}
                      {...a11y(`actions.${i}.timeout_ms`)}
                    />
                    <E k={`actions.${i}.timeout_ms`} />
                  </label>
                </>
              )}
            </div>
            {a.channel === 'webhook' && (
              <label>
                Extra headers (Name: value, one per line; no secrets)
                <textarea
                  name={`actions.${i}.headers`}
                  rows={2}
                  value={a.headers}
                  onChange={(e) => setAction(i, { headers: e.target.value })}
                  {...a11y(`actions.${i}.headers`)}
                />
                <E k={`actions.${i}.headers`} />
              </label>
            )}
            {(a.channel === 'email' || a.channel === 'sms') && (
              <label>
                Body ({'{{plate}}'}, {'{{camera_id}}'}, {'{{captured_at}}'}… are filled in)
                <textarea
                  name={`actions.${i}.body`}
                  rows={2}
                  value={a.body}
                  onChange={(e) => setAction(i, { body: e.target.value })}
                  {...a11y(`actions.${i}.body`)}
                />
                <E k={`actions.${i}.body`} />
              </label>
            )}
            {a.channel === 'slack' && (
              <label>
                Message
                <textarea name={`actions.${i}.text`} rows={2} value={a.text} onChange={(e) => setAction(i, { text: e.target.value })} />
              </label>
            )}
            <div className="actions">
              {a.channel === 'email' && (
                <label className="inline">
                  <input type="checkbox" checked={a.attach_plate} onChange={(e) => setAction(i, { attach_plate: e.target.checked })} /> Attach the plate picture
                </label>
              )}
              <button type="button" className="danger" onClick={() => update({ actions: form.actions.filter((_, j) => j !== i) }, 'actions')}>
                Remove action
              </button>
            </div>
          </div>
        ))}
        <button type="button" onClick={() => update({ actions: [...form.actions, { ...EMPTY_ACTION }] }, 'actions')}>
          Add action
        </button>
      </fieldset>

      <div className="form-grid">{text('rate_limit_s', 'Quiet period per plate (seconds)', '60')}</div>

      <FormFooter submitLabel={rule ? 'Save rule' : 'Create rule'} saving={saving} saveError={saveError} onCancel={onCancel}>
        {showAll && Object.keys(issues).length > 0 && <span className="field-error">Fix the {Object.keys(issues).length} marked field(s) first.</span>}
      </FormFooter>
    </form>
  );
}
