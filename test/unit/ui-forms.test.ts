/**
 * Console form logic without a DOM: the rule form → AlertRuleInput (validated with the shared
 * validateRule), the camera form → camera (shared CameraConfig), the hotlist CSV preview, and
 * the Health screen's problems in words.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AlertRuleInput, validateRule, type AlertRule } from '../../src-pipeline/common/alert-rules.js';
import { CameraConfig } from '../../src-pipeline/common/cameras-config.js';
import { previewCsv, splitCsvLine } from '../../src-renderer/screens/alerts/csv-preview.js';
import { EMPTY_ACTION, EMPTY_RULE, formFromRule, formIssues, ruleFormIssues, toRuleInput, type RuleForm } from '../../src-renderer/screens/alerts/rule-form.js';
import { cameraIssues, EMPTY_CAMERA, formFromCamera, issuesByField, toCamera } from '../../src-renderer/screens/settings/camera-form.js';
import { currentProblems, eventsPerMinute, msSinceLastFrame, type Sample } from '../../src-renderer/screens/health/problems.js';
import type { CameraStatus } from '../../src-renderer/api/types.js';

const full: RuleForm = {
  ...EMPTY_RULE,
  name: 'Gate watch',
  description: 'stolen cars',
  plates: [
    { pattern: 'LS15 EBC', match: 'exact', max_distance: '' },
    { pattern: 'AB1', match: 'fuzzy', max_distance: '1.5' },
  ],
  hotlists: 'stolen, wanted',
  cameras: 'gate-1',
  sites: 'hq',
  days: ['mon', 'fri'],
  hours_from: '22:00',
  hours_to: '06:00',
  timezone: 'Europe/London',
  min_confidence: '0.8',
  vehicle_types: 'car,\ntruck',
  directions: 'in',
  rate_limit_s: '120',
  actions: [
    { ...EMPTY_ACTION, channel: 'webhook', url: 'http://127.0.0.1:9999/hook', headers: 'X-Site: hq\nX-Env: test', secret_env: 'HOOK_KEY', timeout_ms: '2000' },
    { ...EMPTY_ACTION, channel: 'email', to: 'a@example.org, b@example.org', subject: 'Plate {{plate}}', attach_plate: false },
    { ...EMPTY_ACTION, channel: 'slack', webhook_url_env: 'SLACK_URL' },
    { ...EMPTY_ACTION, channel: 'sms', to: '+15551234567', body: '{{plate}} seen' },
  ],
};

describe('rule form', () => {
  it('turns every condition and action type into a valid AlertRuleInput', () => {
    const input = toRuleInput(full);
    const r = validateRule(input);
    assert.ok(r.ok, JSON.stringify(!r.ok && r.issues));
    assert.deepEqual(input.conditions, {
      plates: [
        { pattern: 'LS15 EBC', match: 'exact' },
        { pattern: 'AB1', match: 'fuzzy', max_distance: 1.5 },
      ],
      hotlists: ['stolen', 'wanted'],
      cameras: ['gate-1'],
      sites: ['hq'],
      days: ['mon', 'fri'],
      hours: { from: '22:00', to: '06:00' },
      timezone: 'Europe/London',
      min_confidence: 0.8,
      vehicle_types: ['car', 'truck'],
      directions: ['in'],
    });
    assert.deepEqual(input.actions?.[0], {
      channel: 'webhook',
      url: 'http://127.0.0.1:9999/hook',
      headers: { 'X-Site': 'hq', 'X-Env': 'test' },
      secret_env: 'HOOK_KEY',
      timeout_ms: 2000,
    });
    assert.deepEqual(input.actions?.[1], { channel: 'email', to: ['a@example.org', 'b@example.org'], subject: 'Plate {{plate}}', attach_plate: false });
    assert.deepEqual(input.rate_limit, { window_s: 120, key: 'rule_plate' });
    assert.deepEqual(ruleFormIssues(full), {});
  });

  it('round-trips a stored rule through the form', () => {
    const spec = AlertRuleInput.parse(toRuleInput(full));
    const stored: AlertRule = { ...spec, id: 'r1', source: 'api', created_at: '2024-01-01T00:00:00Z', updated_at: '2024-01-01T00:00:00Z' };
    assert.deepEqual(AlertRuleInput.parse(toRuleInput(formFromRule(stored))), spec);
  });

  it('names the bad field in the form’s own terms', () => {
    const bad: RuleForm = {
      ...EMPTY_RULE,
      name: ' ',
      plates: [{ pattern: '([', match: 'regex', max_distance: '' }],
      hours_from: '25:00',
      hours_to: '06:00',
      timezone: 'Mars/Base',
      min_confidence: '1.5',
      rate_limit_s: '-1',
      actions: [
        { ...EMPTY_ACTION, channel: 'webhook', url: 'not a url' },
        { ...EMPTY_ACTION, channel: 'email', to: 'nobody' },
        { ...EMPTY_ACTION, channel: 'slack' },
        { ...EMPTY_ACTION, channel: 'sms', to: '555' },
      ],
    };
    const issues = ruleFormIssues(bad);
    assert.deepEqual(Object.keys(issues).sort(), [
      'actions.0.url',
      'actions.1.to',
      'actions.2.webhook_url_env',
      'actions.3.to',
      'hours',
      'min_confidence',
      'name',
      'plates.0.pattern',
      'rate_limit_s',
      'timezone',
    ]);
    assert.match(issues['plates.0.pattern'], /invalid regular expression/);
    // Server paths (the API's 400 issues) map onto the same keys.
    assert.deepEqual(
      formIssues([
        { path: 'conditions.plates.0.pattern', message: 'x' },
        { path: 'actions.1.channel', message: 'y' },
      ]),
      {
        'plates.0.pattern': 'x',
        'actions.1.channel': 'y',
      },
    );
  });
});

describe('camera form', () => {
  it('sends only what is set, validated by the pipeline schema', () => {
    const f = {
      ...EMPTY_CAMERA,
      id: 'gate-1',
      source: 'rtsp://10.0.0.5/s1',
      transport: 'udp' as const,
      region: 'eu' as const,
      roi: [
        [0, 0],
        [10.4, 0],
        [10, 9.6],
      ] as [number, number][],
    };
    const cam = toCamera(f);
    assert.deepEqual(cam, {
      id: 'gate-1',
      source: 'rtsp://10.0.0.5/s1',
      transport: 'udp',
      region: 'eu',
      roi: [
        [0, 0],
        [10, 0],
        [10, 10],
      ],
    });
    assert.ok(CameraConfig.safeParse(cam).success);
    assert.deepEqual(cameraIssues(f), {});
  });

  it('keeps keys the form does not edit, and round-trips', () => {
    const raw = {
      id: 'lane',
      source: 'clip.mp4',
      loop: true,
      width: 640,
      height: 360,
      direction_line: [
        [0, 1],
        [2, 3],
      ],
    };
    assert.deepEqual(toCamera(formFromCamera(raw), raw), raw);
  });

  it('sends the direction line drawn in the form, drops a cleared one, and names a half-drawn one', () => {
    const raw = {
      id: 'gate',
      source: 'rtsp://cam/s',
      direction_line: [
        [0, 0],
        [5, 5],
      ],
    };
    const f = formFromCamera(raw);
    assert.deepEqual(f.direction_line, [
      [0, 0],
      [5, 5],
    ]);
    const moved = toCamera(
      {
        ...f,
        direction_line: [
          [10.2, 20.7],
          [300, 40],
        ],
      },
      raw,
    );
    assert.deepEqual(moved.direction_line, [
      [10, 21],
      [300, 40],
    ]);
    assert.ok(CameraConfig.safeParse(moved).success);
    assert.equal('direction_line' in toCamera({ ...f, direction_line: [] }, raw), false, 'a cleared line is removed, not kept from the file');
    assert.deepEqual(Object.keys(cameraIssues({ ...f, direction_line: [[1, 1]] }, raw)), ['direction_line']);
  });

  it('reports field issues by name', () => {
    const issues = cameraIssues({ ...EMPTY_CAMERA, id: 'bad id', source: '', width: '640', roi: [[0, 0]] });
    assert.deepEqual(Object.keys(issues).sort(), ['height', 'id', 'roi', 'source']);
    const live = cameraIssues({ ...EMPTY_CAMERA, id: 'x', source: 'rtsp://h/s', type: 'rtsp', fps_cap: 'abc' });
    assert.deepEqual(Object.keys(live), ['fps_cap']);
    assert.deepEqual(issuesByField([{ path: 'roi.1', message: 'm' }]), { roi: 'm' });
  });
});

describe('hotlist CSV preview', () => {
  it('splits quoted fields', () => {
    assert.deepEqual(splitCsvLine('AB1,"stolen, blue ""van""",2030-01-01T00:00:00Z'), ['AB1', 'stolen, blue "van"', '2030-01-01T00:00:00Z']);
  });

  it('normalises plates and names each bad line', () => {
    const r = previewCsv('plate,reason,expires_at\nab-12 cd,stolen,\n!!!,x,\nXY9,,tomorrow\n\n');
    assert.equal(r.rows.length, 3);
    assert.equal(r.errors, 2);
    assert.deepEqual(
      r.rows.map((x) => [x.line, x.plate, Boolean(x.error)]),
      [
        [2, 'AB12CD', false],
        [3, '!!!', true],
        [4, 'XY9', true],
      ],
    );
    assert.match(r.rows[2].error!, /expires_at/);
  });

  it('reads a file without a header as plate,reason,expires_at', () => {
    const r = previewCsv('AB1,why\r\nCD2');
    assert.deepEqual(
      r.rows.map((x) => [x.plate, x.reason]),
      [
        ['AB1', 'why'],
        ['CD2', undefined],
      ],
    );
  });
});

const cam = (over: Partial<CameraStatus>): CameraStatus => ({
  id: 'gate-1',
  state: 'running',
  source_state: 'running',
  restarts: 0,
  last_error: null,
  frames: 100,
  fps_in: 25,
  fps_out: 25,
  dropped: 0,
  decode_errors: 0,
  reconnects: 0,
  tracks: 0,
  events: 0,
  width: 1280,
  height: 720,
  queue_depth: 0,
  ...over,
});
const sample = (at: number, cameras: CameraStatus[], over: Partial<Sample> = {}): Sample => ({
  at,
  cameras,
  health: null,
  totalEvents: null,
  backend: null,
  ...over,
});

describe('health problems', () => {
  it('says how long a camera has had no frames', () => {
    const s = [0, 10_000, 20_000, 40_000].map((t, i) => sample(t, [cam({ frames: i === 0 ? 50 : 100 })]));
    assert.equal(msSinceLastFrame(s, 'gate-1'), 30_000);
    assert.deepEqual(
      currentProblems(s, null).map((p) => p.text),
      ['camera gate-1 has had no frames for 30 s'],
    );
  });

  it('reports failures, drops, queues and a down backend in words', () => {
    const a = sample(0, [cam({ frames: 100, dropped: 0 }), cam({ id: 'lane-2' })]);
    const b = sample(3000, [cam({ frames: 150, dropped: 40, queue_depth: 4 }), cam({ id: 'lane-2', state: 'failed', last_error: 'ffprobe failed' })], {
      health: { status: 'degraded', database: 'down', storage: 'sqlite', version: '1', uptime_s: 1, live_clients: 0 },
      backend: { enabled: true, check: { kafka: { ok: false, error: 'cannot reach Kafka at h:1' }, registry: { ok: false, error: 'timeout' }, elapsed_ms: 1 } },
    });
    const texts = currentProblems([a, b], null).map((p) => p.text);
    assert.deepEqual(texts, [
      'the sqlite database does not answer',
      'camera gate-1 is dropping frames (40 in the last 3 s): the pipeline cannot keep up',
      'camera lane-2 has failed and is not restarted: ffprobe failed',
      'Kafka is down: cannot reach Kafka at h:1',
      'the schema registry is down: timeout',
    ]);
    assert.deepEqual(currentProblems([], 'cannot reach the OVR-ALPR service'), [
      { severity: 'error', text: 'the console cannot reach the service: cannot reach the OVR-ALPR service' },
    ]);
  });

  it('computes events per minute from /stats totals', () => {
    const s = [sample(0, [], { totalEvents: 10 }), sample(30_000, [], { totalEvents: 16 }), sample(60_000, [], { totalEvents: 2 })];
    assert.deepEqual(eventsPerMinute(s), [
      { at: 30_000, epm: 12 },
      { at: 60_000, epm: 0 },
    ]);
  });

  it('names a down S3, Kafka or registry from /health, and a stuck upload queue', () => {
    const comp = (status: 'ok' | 'down' | 'not_configured', target: string | null, error: string | null) => ({
      status,
      required: false,
      latency_ms: null,
      error,
      target,
      checked_at: null,
    });
    const s = sample(0, [], {
      health: {
        status: 'degraded',
        database: 'ok',
        storage: 'sqlite',
        version: '1',
        uptime_s: 1,
        live_clients: 0,
        components: {
          database: comp('ok', null, null),
          kafka: comp('down', '127.0.0.1:9092', 'connection refused'),
          schema_registry: comp('not_configured', null, null),
          s3: comp('down', 'http://127.0.0.1:9000/bucket', 'timeout'),
        },
        image_uploads: { pending: 12, pending_bytes: 1000, failed_attempts: 3, retrying: true, over_cap: false, last_error: 'timeout' },
      },
      // The settings check agrees Kafka is down; it must not be said twice.
      backend: { enabled: true, check: { kafka: { ok: false, error: 'cannot reach Kafka' }, registry: null, elapsed_ms: 1 } },
    });
    assert.deepEqual(
      currentProblems([s], null).map((p) => p.text),
      [
        'Kafka is down (127.0.0.1:9092): connection refused',
        'S3 is down (http://127.0.0.1:9000/bucket): timeout',
        '12 picture(s) wait to be uploaded to S3 (last error: timeout)',
      ],
    );
  });
});
