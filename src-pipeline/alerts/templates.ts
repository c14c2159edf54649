/** `{{name}}` templates for subjects and bodies, filled from the event and the rule. */
import type { Notification } from './channels/channel.js';

export const DEFAULT_SUBJECT = 'ALPR alert: {{plate}} at {{camera_id}} ({{rule}})';
export const DEFAULT_BODY = [
  'Rule: {{rule}}',
  'Plate: {{plate}} (read as "{{plate_text}}", confidence {{confidence}})',
  'Camera: {{camera_id}}  Site: {{site}}',
  'Time: {{captured_at}}',
  'Vehicle: {{vehicle_type}}  Direction: {{direction}}',
  'Hotlist: {{hotlist}} {{hotlist_priority}} {{hotlist_reason}}',
  'Event: {{event_id}}',
].join('\n');
export const DEFAULT_SMS = 'ALPR {{rule}}: {{plate}} at {{camera_id}} {{captured_at}}{{hotlist_suffix}}';

export function templateValues(n: Notification): Record<string, string> {
  const e = n.event;
  return {
    plate: e.plate.normalized_text,
    plate_text: e.plate.text,
    camera_id: e.camera_id,
    site: e.node.site ?? '-',
    captured_at: e.captured_at,
    confidence: e.plate.confidence.toFixed(2),
    vehicle_type: e.vehicle.type ?? '-',
    direction: e.extras.direction ?? '-',
    rule: n.rule.name,
    rule_description: n.rule.description ?? '',
    hotlist: n.hotlist?.hotlist ?? '-',
    hotlist_priority: n.hotlist?.priority ?? '',
    hotlist_reason: n.hotlist?.reason ?? '',
    hotlist_suffix: n.hotlist ? ` [hotlist ${n.hotlist.hotlist}, ${n.hotlist.priority}]` : '',
    matched: n.matched ?? '-',
    event_id: e.event_id,
  };
}

/** Unknown names stay as written so a typo shows in the message instead of vanishing. */
export function renderTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (whole, name: string) => (name in values ? values[name] : whole));
}
