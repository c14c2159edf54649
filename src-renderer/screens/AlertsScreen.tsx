/** Alerts: rules (with the form editor and "send test"), hotlists, and the delivery history. */
import { HistoryPanel } from './alerts/HistoryPanel';
import { HotlistsPanel } from './alerts/HotlistsPanel';
import { RulesPanel } from './alerts/RulesPanel';

export function AlertsScreen() {
  return (
    <section className="screen alerts-screen">
      <header className="screen-header">
        <h1 tabIndex={-1}>Alerts</h1>
      </header>
      <RulesPanel />
      <HotlistsPanel />
      <HistoryPanel />
    </section>
  );
}
