/** The cameras list in Settings: what is in the cameras file, with add/edit/remove. */
import { useState } from 'react';
import { errorText } from '../../api/client';
import { listCameras, removeCamera, type Applied, type CameraRaw } from '../../api/settings';
import { EmptyState } from '../../components/EmptyState';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Modal } from '../../components/Modal';
import { Spinner } from '../../components/Spinner';
import { useApi } from '../../components/useApi';
import { isNoSettings, NoSettings } from './NoSettings';
import { CameraEditor } from './CameraEditor';
import { DataTable } from '../../components/DataTable';

const appliedText = (a: Applied, what: string) => (a === 'live' ? `${what}; the pipeline applied it now.` : `${what}; restart ovr-alpr serve to apply it.`);

export function CamerasPanel() {
  const { data, error, loading, reload } = useApi((signal) => listCameras(signal), []);
  const [editing, setEditing] = useState<CameraRaw | 'new' | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [removing, setRemoving] = useState<string | null>(null);

  const remove = async (id: string) => {
    if (!window.confirm(`Remove camera ${id}? Its events stay in the store.`)) return;
    setRemoving(id);
    try {
      const r = await removeCamera(id);
      setNotice(appliedText(r.applied, `Camera ${id} removed`));
      reload();
    } catch (err) {
      setNotice(`Could not remove ${id}: ${errorText(err)}`);
    } finally {
      setRemoving(null);
    }
  };

  return (
    <section className="card settings-section" aria-labelledby="cameras-h">
      <header className="screen-header">
        <h2 id="cameras-h">Cameras</h2>
        <button type="button" className="primary" onClick={() => setEditing('new')} disabled={!data?.editable}>
          Add camera
        </button>
      </header>
      {data && (
        <p className="muted">
          {data.file ? `File: ${data.file}` : 'This server was started with --source: its camera is not in a file and cannot be edited here.'}
        </p>
      )}
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      {isNoSettings(error) ? <NoSettings /> : error ? <ErrorMessage error={error} title="Cannot load cameras" onRetry={reload} /> : null}
      {loading && !data && <Spinner />}
      {data && data.cameras.length === 0 && data.editable && (
        <EmptyState title="No cameras yet">Add a camera: a video file, an rtsp:// URL or a USB camera (/dev/video0).</EmptyState>
      )}
      {data && data.cameras.length > 0 && (
        <DataTable className="cameras-table" columns={['Id', 'Source', 'Region', 'ROI', 'Enabled', { hidden: 'Actions' }]}>
          {data.cameras.map((c) => (
            <tr key={String(c.id)} data-camera={String(c.id)}>
              <td>{String(c.id)}</td>
              <td className="mono wrap">{String(c.source)}</td>
              <td>{c.region ? String(c.region) : '–'}</td>
              <td>{Array.isArray(c.roi) ? `${c.roi.length} points` : 'whole frame'}</td>
              <td>{c.enabled === false ? 'no' : 'yes'}</td>
              <td>
                <div className="actions">
                  <button type="button" onClick={() => setEditing(c)} disabled={!data.editable}>
                    Edit
                  </button>
                  <button type="button" className="danger" onClick={() => void remove(String(c.id))} disabled={!data.editable || removing === c.id}>
                    Remove
                  </button>
                </div>
              </td>
            </tr>
          ))}
        </DataTable>
      )}
      <Modal
        title={editing === 'new' ? 'Add camera' : `Edit camera ${editing ? String(editing.id) : ''}`}
        open={editing !== null}
        onClose={() => setEditing(null)}
        wide
      >
        {editing !== null && (
          <CameraEditor
            original={editing === 'new' ? null : editing}
            onCancel={() => setEditing(null)}
            onSaved={(applied, id) => {
              setEditing(null);
              setNotice(appliedText(applied, `Camera ${id} saved`));
              reload();
            }}
          />
        )}
      </Modal>
    </section>
  );
}
