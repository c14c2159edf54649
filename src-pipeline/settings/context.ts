/** What the settings routes need from the process that serves them (`serve`). */
import type { CameraConfig } from '../common/cameras-config.js';

export interface LiveCameras {
  /** Starts (or restarts with the new config) one camera; previousId when the id changed. */
  upsert(camera: CameraConfig, previousId?: string): Promise<void>;
  remove(id: string): Promise<boolean>;
}

export interface SettingsContext {
  /** The cameras YAML `serve` reads; null when it was started with --source (no file to edit). */
  camerasFile: string | null;
  /** Folder holding bus.yaml. */
  configDir: string;
  /** Holds settings.yaml (retention, privacy) and privacy.key. */
  dataDir: string;
  env: Record<string, string | undefined>;
  /** Present while a pipeline runs: camera edits are applied at once instead of at the next start. */
  live?: LiveCameras;
  /** Retention flags given on the command line (they win over settings.yaml). */
  retentionFlags?: boolean;
}
