/** Alert rules: enabled toggles, edit/delete, "send test", and the rule form in a dialog. */
import { useState } from 'react';
import type { AlertRule } from '../../../src-pipeline/common/alert-rules';
import { deleteRule, listRules, setRuleEnabled, testRule } from '../../api/alerts';
import { errorText } from '../../api/client';
import { EmptyState } from '../../components/EmptyState';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Modal } from '../../components/Modal';
import { Spinner } from '../../components/Spinner';
import { useApi } from '../../components/useApi';
import { isNoAlerts, NoAlerts } from './NoAlerts';
import { RuleEditor } from './RuleEditor';
import { DataTable } from '../../components/DataTable';

/** One line describing what a rule matches, for the list. */
export function describeConditions(r: AlertRule): string {
  const c = r.conditions;
  const parts: string[] = [];
  if (c.plates?.length) parts.push(`plate ${c.plates.map((p) => (p.match === 'exact' ? p.pattern : `${p.match} ${p.pattern}`)).join(' or ')}`);
  if (c.hotlists?.length) parts.push(`on ${c.hotlists.join('/')}`);
  if (c.cameras?.length) parts.push(`at ${c.cameras.join(', ')}`);
  if (c.sites?.length) parts.push(`site ${c.sites.join(', ')}`);
  if (c.days?.length) parts.push(c.days.join(' '));
  if (c.hours) parts.push(`${c.hours.from}–${c.hours.to}${c.timezone ? ` ${c.timezone}` : ''}`);
  if (c.min_confidence !== undefined) parts.push(`conf ≥ ${c.min_confidence}`);
  if (c.vehicle_types?.length) parts.push(c.vehicle_types.join('/'));
  if (c.directions?.length) parts.push(`going ${c.directions.join('/')}`);
  return parts.join(', ') || 'every plate';
}

export function RulesPanel() {
  const { data, error, loading, reload } = useApi((signal) => listRules(signal), []);
  const [editing, setEditing] = useState<AlertRule | 'new' | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  const act = async (id: string, what: () => Promise<string>) => {
    setBusy(id);
    try {
      setNotice(await what());
      reload();
    } catch (err) {
      setNotice(errorText(err));
    } finally {
      setBusy(null);
    }
  };
  const toggle = (r: AlertRule) => act(r.id, async () => (await setRuleEnabled(r.id, !r.enabled), `Rule "${r.name}" ${r.enabled ? 'disabled' : 'enabled'}.`));
  const remove = (r: AlertRule) => {
    if (!window.confirm(`Delete rule "${r.name}"? Its history stays.`)) return;
    void act(r.id, async () => (await deleteRule(r.id), `Rule "${r.name}" deleted.`));
  };
  const sendTest = (r: AlertRule) =>
    act(r.id, async () => {
      const { results } = await testRule(r.id);
      if (results.length === 0) return `Rule "${r.name}" has no actions to test.`;
      return `Test of "${r.name}": ${results.map((x) => `${x.channel} ${x.ok ? 'delivered' : `failed (${x.error ?? 'no reason given'})`}`).join('; ')}`;
    });

  return (
    <section className="card alerts-section" aria-labelledby="rules-h">
      <header className="screen-header">
        <h2 id="rules-h">Rules</h2>
        <button type="button" className="primary" onClick={() => setEditing('new')}>
          New rule
        </button>
      </header>
      {notice && (
        <p className="notice" role="status" data-testid="rules-notice">
          {notice}
        </p>
      )}
      {isNoAlerts(error) ? <NoAlerts /> : error ? <ErrorMessage error={error} title="Cannot load alert rules" onRetry={reload} /> : null}
      {loading && !data && <Spinner />}
      {data && data.rules.length === 0 && <EmptyState title="No alert rules">Create a rule to be told when a plate of interest is seen.</EmptyState>}
      {data && data.rules.length > 0 && (
        <DataTable className="rules-table" columns={['On', 'Name', 'Matches', 'Actions', { hidden: 'Manage' }]}>
          {data.rules.map((r) => (
            <tr key={r.id} data-rule={r.name}>
              <td>
                <label className="switch">
                  <input
                    type="checkbox"
                    checked={r.enabled}
                    disabled={r.source === 'config' || busy === r.id}
                    onChange={() => void toggle(r)}
                    aria-label={`${r.enabled ? 'Disable' : 'Enable'} rule ${r.name}`}
                  />
                </label>
              </td>
              <td>
                {r.name}
                {r.source === 'config' && (
                  <span className="badge" title="Defined in config/alert_rules.yaml; edit the file to change it">
                    config file
                  </span>
                )}
              </td>
              <td className="muted">{describeConditions(r)}</td>
              <td>{r.actions.map((a) => a.channel).join(', ') || '–'}</td>
              <td>
                <div className="actions">
                  <button type="button" onClick={() => void sendTest(r)} disabled={busy === r.id || r.actions.length === 0}>
                    Send test
                  </button>
                  <button type="button" onClick={() => setEditing(r)} disabled={r.source === 'config'}>
                    Edit
                  </button>
                  <button type="button" className="danger" onClick={() => remove(r)} disabled={r.source === 'config' || busy === r.id}>
                    Delete
                  </button>
                </div>
              </td>
            </tr>
          ))}
        </DataTable>
      )}
      <Modal
        title={editing === 'new' ? 'New alert rule' : `Edit rule ${editing ? editing.name : ''}`}
        open={editing !== null}
        onClose={() => setEditing(null)}
        wide
      >
        {editing !== null && (
          <RuleEditor
            rule={editing === 'new' ? null : editing}
            onCancel={() => setEditing(null)}
            onSaved={(r) => {
              setEditing(null);
              setNotice(`Rule "${r.name}" saved.`);
              reload();
            }}
          />
        )}
      </Modal>
    </section>
  );
}
