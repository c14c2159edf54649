/** Settings: cameras (with connection test, snapshot and ROI), retention and privacy, backend connection. */
import { BackendPanel } from './settings/BackendPanel';
import { CamerasPanel } from './settings/CamerasPanel';
import { RetentionPanel } from './settings/RetentionPanel';

export function SettingsScreen() {
  return (
    <section className="screen settings-screen">
      <header className="screen-header">
        <h1 tabIndex={-1}>Settings</h1>
      </header>
      <CamerasPanel />
      <RetentionPanel />
      <BackendPanel />
    </section>
  );
}
