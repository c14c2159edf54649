/** Alert history: what fired, through which channel, and whether it was delivered. */
import { useState } from 'react';
import { CHANNELS, DELIVERY_STATUSES } from '../../../src-pipeline/common/alert-rules';
import { listHistory } from '../../api/alerts';
import { EmptyState } from '../../components/EmptyState';
import { OffsetPager } from '../../components/OffsetPager';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Spinner } from '../../components/Spinner';
import { useApi } from '../../components/useApi';
import { isNoAlerts, NoAlerts } from './NoAlerts';
import { hrefFor } from '../../router';
import { DataTable } from '../../components/DataTable';

const PAGE = 50;

export function HistoryPanel() {
  const [plate, setPlate] = useState('');
  const [channel, setChannel] = useState('');
  const [status, setStatus] = useState('');
  const [offset, setOffset] = useState(0);
  const [tick, setTick] = useState(0);
  const { data, error, loading, reload } = useApi(
    (signal) => listHistory({ plate: plate.trim() || undefined, channel, status, limit: PAGE, offset }, signal),
    [plate, channel, status, offset, tick],
  );

  return (
    <section className="card alerts-section" aria-labelledby="history-h">
      <header className="screen-header">
        <h2 id="history-h">History</h2>
        <button type="button" onClick={() => setTick((t) => t + 1)}>
          Refresh
        </button>
      </header>
      <div className="form-row">
        <label>
          Plate
          <input type="search" value={plate} onChange={(e) => (setPlate(e.target.value), setOffset(0))} />
        </label>
        <label>
          Channel
          <select value={channel} onChange={(e) => (setChannel(e.target.value), setOffset(0))}>
            <option value="">any</option>
            {CHANNELS.map((c) => (
              <option key={c}>{c}</option>
            ))}
          </select>
        </label>
        <label>
          Status
          <select value={status} onChange={(e) => (setStatus(e.target.value), setOffset(0))}>
            <option value="">any</option>
            {DELIVERY_STATUSES.map((c) => (
              <option key={c}>{c}</option>
            ))}
          </select>
        </label>
      </div>
      {isNoAlerts(error) ? <NoAlerts /> : error ? <ErrorMessage error={error} title="Cannot load alert history" onRetry={reload} /> : null}
      {loading && !data && <Spinner />}
      {data && data.items.length === 0 && <EmptyState title="No alerts yet">Alerts appear here when a rule matches an event.</EmptyState>}
      {data && data.items.length > 0 && (
        <>
          <DataTable className="history-table" columns={['Time', 'Rule', 'Plate', 'Camera', 'Channel', 'Status', 'Attempts']}>
            {data.items.map((h) => (
              <tr key={h.id} data-history-plate={h.plate}>
                <td>{new Date(h.created_at).toLocaleString()}</td>
                <td>{h.rule_name}</td>
                <td>
                  <a href={hrefFor('events', [h.event_id])} className="plate-text">
                    {h.plate}
                  </a>
                </td>
                <td>{h.camera_id}</td>
                <td>{h.channel}</td>
                <td>
                  <span className={`badge ${h.status === 'delivered' ? 'ok' : 'danger'}`} title={h.error}>
                    {h.status}
                  </span>
                  {h.error && <div className="muted small">{h.error}</div>}
                </td>
                <td>{h.attempts}</td>
              </tr>
            ))}
          </DataTable>
          <OffsetPager offset={offset} pageSize={PAGE} shown={data.items.length} total={data.total} onOffset={setOffset} />
        </>
      )}
    </section>
  );
}
