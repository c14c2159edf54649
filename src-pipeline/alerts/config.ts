/**
 * config/alert_rules.yaml: rules written by hand (read-only through the API, source 'config'),
 * channel settings and defaults. Every rule is validated with the API's own contract and a bad
 * one stops loading with its path (`rules.2.conditions.plates.0.pattern: invalid regular expression`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { AlertRule, AlertRulesFile, toValidationIssues, validateRule, type AlertChannelsConfig } from '../common/alert-rules.js';
import { AlprError } from '../common/errors.js';

export interface AlertsConfig {
  rules: AlertRule[];
  channels: AlertChannelsConfig;
  defaults: AlertRulesFile['defaults'];
  /** Where it came from (null: built-in defaults, no file). */
  path: string | null;
}

/** Stable id of a config rule, so history keeps pointing at it across restarts. */
export function configRuleId(name: string): string {
  return `config:${name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')}`;
}

export function parseAlertsConfig(doc: unknown, where: string, loadedAt = new Date(0).toISOString()): AlertsConfig {
  const file = AlertRulesFile.safeParse(doc ?? {});
  if (!file.success) {
    const issues = toValidationIssues(file.error.issues);
    throw new AlprError('CONFIG_INVALID', `${where}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { details: { issues } });
  }
  const rules: AlertRule[] = [];
  const names = new Set<string>();
  file.data.rules.forEach((raw, i) => {
    const r = validateRule(raw);
    if (!r.ok) {
      const issues = r.issues.map((x) => ({ path: `rules.${i}.${x.path}`.replace(/\.$/, ''), message: x.message }));
      throw new AlprError('CONFIG_INVALID', `${where}: ${issues.map((x) => `${x.path}: ${x.message}`).join('; ')}`, { details: { issues } });
    }
    if (names.has(r.rule.name)) throw new AlprError('CONFIG_INVALID', `${where}: rules.${i}.name: duplicate rule name "${r.rule.name}"`);
    names.add(r.rule.name);
    rules.push(AlertRule.parse({ ...r.rule, id: configRuleId(r.rule.name), source: 'config', created_at: loadedAt, updated_at: loadedAt }));
  });
  return { rules, channels: file.data.channels, defaults: file.data.defaults, path: null };
}

/** Loads the file; a missing file means no config rules and default channel settings. */
export function loadAlertsConfig(path: string, opts: { required?: boolean } = {}): AlertsConfig {
  if (!existsSync(path)) {
    if (opts.required) throw new AlprError('CONFIG_INVALID', `${path}: no such file`);
    return { ...parseAlertsConfig({}, path), path: null };
  }
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new AlprError('CONFIG_INVALID', `${path}: not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  return { ...parseAlertsConfig(doc, path, new Date().toISOString()), path };
}
