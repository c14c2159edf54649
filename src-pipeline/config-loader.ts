/**
 * Reads YAML config files against their zod contracts. Every problem is reported as
 * `file: key: what is wrong` so an operator can fix the file without reading code.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { z } from 'zod';
import { AlprError } from './common/errors.js';
import { BusConfig } from './common/bus-config.js';
import { EventsConfig } from './common/events-config.js';
import { PipelineConfig } from './common/pipeline-config.js';
import { RecognitionConfig } from './common/recognition-config.js';
import { TrackingConfig } from './common/tracking-config.js';
import { projectRoot } from './paths.js';

export function defaultConfigDir(): string {
  return process.env.OVR_ALPR_CONFIG_DIR ?? join(projectRoot(), 'config');
}

export function loadYamlFile<S extends z.ZodType>(file: string, schema: S, fix: string): z.infer<S> {
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, 'utf8')) ?? {};
  } catch (err) {
    throw new AlprError('CONFIG_INVALID', `${file}: not valid YAML: ${(err as Error).message}`, { cause: err, details: { file } });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${file}: ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
    throw new AlprError('CONFIG_INVALID', `${lines.join('\n')}\n${fix}`, {
      details: { file, issues: parsed.error.issues.map((i) => ({ key: i.path.join('.'), message: i.message })) },
    });
  }
  return parsed.data;
}

/** config/recognition.yaml from the given folder; defaults when the folder has none. */
export function loadRecognitionConfig(dir = defaultConfigDir()): RecognitionConfig {
  return loadOptional(dir, 'recognition.yaml', RecognitionConfig);
}

/** A YAML file validated against `schema`; the schema's defaults when the file is absent. */
export function loadOptionalYaml<S extends z.ZodType>(file: string, schema: S, fix: string): z.infer<S> {
  return existsSync(file) ? loadYamlFile(file, schema, fix) : schema.parse({});
}

/** Reads `name` from the config folder against `schema`; the schema's defaults when absent. */
function loadOptional<S extends z.ZodType>(dir: string, name: string, schema: S): z.infer<S> {
  return loadOptionalYaml(join(dir, name), schema, `Fix the key (see the comments in config/${name} for allowed values) or delete it to use the default.`);
}

/** config/tracking.yaml (ByteTrack thresholds and buffers). */
export function loadTrackingConfig(dir = defaultConfigDir()): TrackingConfig {
  return loadOptional(dir, 'tracking.yaml', TrackingConfig);
}

/** config/events.yaml (validation, dedup and settle thresholds for plate events). */
export function loadEventsConfig(dir = defaultConfigDir()): EventsConfig {
  return loadOptional(dir, 'events.yaml', EventsConfig);
}

/** config/pipeline.yaml (per-frame plate work budget, sampling, saved pictures). */
export function loadPipelineConfig(dir = defaultConfigDir()): PipelineConfig {
  return loadOptional(dir, 'pipeline.yaml', PipelineConfig);
}

/**
 * config/bus.yaml with the environment's overrides (OVR_ALPR_KAFKA_BROKERS,
 * OVR_ALPR_SCHEMA_REGISTRY_URL), which keep broker lists and registry credentials out of files.
 */
export function loadBusConfig(dir = defaultConfigDir(), env: Record<string, string | undefined> = process.env): BusConfig {
  const file = join(dir, 'bus.yaml');
  const raw = existsSync(file) ? (parse(readFileSync(file, 'utf8')) ?? {}) : {};
  const merged = {
    ...(raw as object),
    ...(env.OVR_ALPR_KAFKA_BROKERS
      ? {
          brokers: env.OVR_ALPR_KAFKA_BROKERS.split(',')
            .map((b) => b.trim())
            .filter(Boolean),
        }
      : {}),
    ...(env.OVR_ALPR_SCHEMA_REGISTRY_URL ? { schema_registry_url: env.OVR_ALPR_SCHEMA_REGISTRY_URL } : {}),
  };
  const parsed = BusConfig.safeParse(merged);
  if (!parsed.success) {
    // Never echo the registry URL: it may carry credentials.
    const lines = parsed.error.issues.map((i) => `${file}: ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
    throw new AlprError(
      'CONFIG_INVALID',
      `${lines.join('\n')}\nFix the key (see the comments in config/bus.yaml) or the OVR_ALPR_KAFKA_BROKERS / OVR_ALPR_SCHEMA_REGISTRY_URL variables.`,
      {
        details: { file, issues: parsed.error.issues.map((i) => ({ key: i.path.join('.'), message: i.message })) },
      },
    );
  }
  return parsed.data;
}
