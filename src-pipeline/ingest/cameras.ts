/** Loads config/cameras.yaml and turns each enabled camera into a frame-source spec. */
import { join } from 'node:path';
import { CamerasConfig, type CameraConfig } from '../common/cameras-config.js';
import { defaultConfigDir, loadOptionalYaml } from '../config-loader.js';
import type { SourceSpec } from './frame-source.js';

export const CAMERAS_FIX = 'Fix the key (see the comments in config/cameras.yaml for the allowed keys and values) or remove the camera.';

/** A cameras.yaml file, validated; an absent file means no cameras. */
export function loadCamerasConfig(file = join(defaultConfigDir(), 'cameras.yaml')): CamerasConfig {
  return loadOptionalYaml(file, CamerasConfig, CAMERAS_FIX);
}

export function cameraToSourceSpec(cam: CameraConfig): SourceSpec {
  return {
    id: cam.id,
    type: cam.type,
    source: cam.source,
    transport: cam.transport,
    loop: cam.loop,
    realtime: cam.realtime,
    fpsCap: cam.fps_cap,
    width: cam.width,
    height: cam.height,
    command: cam.command,
    queueCapacity: cam.queue,
  };
}

/** Specs for the cameras marked enabled, in file order. */
export function enabledSourceSpecs(cfg: CamerasConfig): SourceSpec[] {
  return cfg.cameras.filter((c) => c.enabled).map(cameraToSourceSpec);
}
