/**
 * `ovr-alpr` command line. Each command returns an exit code instead of exiting so tests can
 * call `main()` in-process; output lines are JSON when `--json` is given.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AlprError, toErrorEnvelope } from './common/errors.js';
import { loadRecognitionConfig } from './config-loader.js';
import { isImageFile, loadDataset } from './eval/datasets.js';
import { scoreSample, summarize, type SampleOutcome } from './eval/metrics.js';
import { decodeImage } from './vision/image.js';
import { loadManifest } from './vision/model-manifest.js';
import { fetchModels, modelPath, resolveModelFile } from './vision/model-store.js';
import { Recognizer } from './vision/recognizer.js';
import { importCmd } from './cli/import.js';

const USAGE = `usage: ovr-alpr <command> [options]

commands:
  recognize <image|dir>... [--json] [--config dir]   read plates in photos; one line per image
  eval --dataset <dir> [--json] [--config dir]        accuracy on a labelled folder
  models [fetch|verify|list]                          install / check model files (fetch honours OVR_ALPR_MODEL_MIRROR)
  run --source <file|rtsp://…|/dev/videoN> | --cameras FILE [--data-dir D] [--events-jsonl F] [--json]
                                                      the video pipeline: one event per vehicle into the embedded store
  import --events-jsonl FILE --data-dir D             load plate events (one JSON per line) into D/events.sqlite
  serve --data-dir D [--port N] [--host H] [--token-file F] [--no-pipeline]
                                                      console server on the embedded SQLite store (API, docs, live feed)
  api --database-url URL [--port N] [--host H] [--token-file F]
                                                      query API against PostgreSQL / TimescaleDB
  consumer [--database-url URL] [--brokers H:P,…]     backend storage consumer: Kafka → PostgreSQL, bad messages to the DLQ
  alerts [--database-url URL] [--rules FILE]           backend alert engine: Kafka → rules, hotlists → email/Slack/webhook/SMS
  alerts check --rules FILE --event JSON [--json]    which alert rules an event matches, and why (sends nothing)
  backend up|down|status [--compose-file F] [--json]  launch/stop the compose/ backend, or check an existing one
  help                                                this text
`;

type Out = (line: string) => void;

export interface Io {
  out: Out;
  err: Out;
}

const defaultIo: Io = {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
};

export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd && (rest.includes('--help') || rest.includes('-h'))) {
    io.out(USAGE);
    return 0;
  }
  try {
    switch (cmd) {
      case 'recognize':
        return await recognizeCmd(rest, io);
      case 'eval':
        return await evalCmd(rest, io);
      case 'models':
        return await modelsCmd(rest, io);
      case 'import':
        return await importCmd(rest, io);
      case 'run':
        return await (await import('./cli/run.js')).runCmd(rest, io);
      case 'serve':
        return await (await import('./cli/serve.js')).serveCmd(rest, io);
      case 'consumer':
        return await (await import('./cli/consumer.js')).consumerCmd(rest, io);
      case 'alerts':
        return await (await import('./cli/alerts.js')).alertsCmd(rest, io);
      case 'backend':
        return await (await import('./cli/backend.js')).backendCmd(rest, io);
      case 'api':
        return await (await import('./cli/serve.js')).apiCmd(rest, io);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.out(USAGE);
        return cmd === undefined ? 2 : 0;
      default:
        io.err(`ovr-alpr: unknown command "${cmd}"\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    const e = toErrorEnvelope(err);
    io.err(`ovr-alpr ${cmd}: ${e.code}: ${e.message}`);
    return e.code === 'USAGE' ? 2 : 1;
  }
}

function parse(args: string[], options: NonNullable<ParseArgsConfig['options']>) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new AlprError('USAGE', `${(err as Error).message}\n${USAGE}`);
  }
}

/** Expands folders (recursively, sorted) into image files; keeps unknown paths so they error per file. */
export function expandInputs(inputs: readonly string[]): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (isImageFile(name)) files.push(p);
    }
  };
  for (const input of inputs) {
    if (existsSync(input) && statSync(input).isDirectory()) walk(input);
    else files.push(input);
  }
  return files;
}

async function recognizeCmd(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' }, config: { type: 'string' } });
  if (positionals.length === 0) throw new AlprError('USAGE', `recognize needs at least one image or folder\n${USAGE}`);
  const files = expandInputs(positionals);
  if (files.length === 0) throw new AlprError('USAGE', `no images found in ${positionals.join(', ')}`);
  const recognizer = await Recognizer.create(loadRecognitionConfig(values.config as string | undefined));
  let readable = 0;
  for (const file of files) {
    try {
      const t0 = performance.now();
      const img = await decodeImage(file);
      const decodeMs = performance.now() - t0;
      const r = await recognizer.recognize(img);
      readable++;
      const timings = roundTimings({ decode_ms: decodeMs, ...r.timings, total_ms: decodeMs + r.timings.total_ms });
      if (values.json) {
        io.out(JSON.stringify({ file, width: r.width, height: r.height, plates: r.plates, vehicles: r.vehicles, rejected: r.rejected, timings }));
      } else {
        const plates = r.plates.map((p) => `${p.text} (${p.confidence.toFixed(2)}${p.vehicle ? `, ${p.vehicle.type}` : ''})`).join(', ');
        io.out(`${file}: ${plates || 'no plate'}  [${timings.total_ms} ms]`);
      }
    } catch (err) {
      const e = toErrorEnvelope(err);
      if (e.code !== 'IMAGE_UNREADABLE') throw err;
      if (values.json) io.out(JSON.stringify({ file, error: { code: e.code, message: e.message } }));
      else io.err(`${file}: ${e.code}: ${e.message}`);
    }
  }
  return readable > 0 ? 0 : 1;
}

function roundTimings<T extends Record<string, number | undefined>>(t: T): Record<keyof T, number> {
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Math.round((v ?? 0) * 10) / 10])) as Record<keyof T, number>;
}

async function evalCmd(args: string[], io: Io): Promise<number> {
  const { values } = parse(args, { dataset: { type: 'string' }, json: { type: 'boolean' }, config: { type: 'string' }, limit: { type: 'string' } });
  if (!values.dataset) throw new AlprError('USAGE', `eval needs --dataset <dir>\n${USAGE}`);
  const dataset = resolve(values.dataset as string);
  let samples = loadDataset(dataset);
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined) {
    if (!Number.isInteger(limit) || limit <= 0) throw new AlprError('USAGE', `--limit must be a positive whole number, got "${values.limit}"`);
    samples = samples.slice(0, limit);
  }
  const recognizer = await Recognizer.create(loadRecognitionConfig(values.config as string | undefined));
  const outcomes: SampleOutcome[] = [];
  for (const s of samples) {
    let outcome: SampleOutcome;
    const t0 = performance.now();
    try {
      const img = await decodeImage(s.file);
      if (s.kind === 'crop') {
        const r = await recognizer.readCrop(img);
        const preds = r.text ? [{ text: r.text, confidence: r.confidence }] : [];
        outcome = scoreSample(s.file, s.plates, preds, performance.now() - t0);
      } else {
        const r = await recognizer.recognize(img);
        outcome = scoreSample(s.file, s.plates, r.plates, performance.now() - t0);
      }
    } catch (err) {
      const e = toErrorEnvelope(err);
      if (e.code !== 'IMAGE_UNREADABLE') throw err;
      outcome = { ...scoreSample(s.file, s.plates, [], 0), error: e.message };
    }
    outcomes.push(outcome);
    const missed = outcome.expected.some((t, i) => outcome.matched[i] !== t) || outcome.falseReads > 0 || outcome.error;
    if (missed) {
      const line = {
        file: s.file,
        expected: outcome.expected,
        read: outcome.read,
        matched: outcome.matched,
        false_reads: outcome.falseReads,
        ...(outcome.error ? { error: outcome.error } : {}),
      };
      io.out(
        values.json
          ? JSON.stringify({ miss: line })
          : `MISS ${s.file}: expected ${outcome.expected.join(' ') || '(none)'}, read ${outcome.read.join(' ') || '(nothing)'}${outcome.error ? ` [${outcome.error}]` : ''}`,
      );
    }
  }
  const summary = summarize(dataset, outcomes);
  if (values.json) io.out(JSON.stringify(summary));
  else {
    const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
    io.out(
      `summary: ${summary.exact}/${summary.total} exact (${pct(summary.exact_rate)}), folded ${pct(summary.folded_rate)}, chars ${pct(summary.char_accuracy)}` +
        `${summary.detection_recall === null ? '' : `, detection recall ${pct(summary.detection_recall)}`}, false reads/image ${summary.false_reads_per_image}, median ${summary.median_ms} ms`,
    );
  }
  return 0;
}

async function modelsCmd(args: string[], io: Io): Promise<number> {
  const { positionals } = parse(args, {});
  const action = positionals[0] ?? 'fetch';
  const manifest = loadManifest();
  if (action === 'list') {
    for (const m of manifest.models) io.out(`${m.name}\t${m.task}\t${m.file}\t${m.licence}\t${modelPath(m)}`);
    return 0;
  }
  if (action === 'verify') {
    let bad = 0;
    for (const m of manifest.models) {
      try {
        io.out(`ok ${m.name} ${resolveModelFile(m)}`);
      } catch (err) {
        bad++;
        io.err(toErrorEnvelope(err).message);
      }
    }
    return bad ? 1 : 0;
  }
  if (action !== 'fetch') throw new AlprError('USAGE', `unknown models action "${action}" (fetch, verify, list)`);
  const mirror = process.env.OVR_ALPR_MODEL_MIRROR ? resolve(process.env.OVR_ALPR_MODEL_MIRROR) : undefined;
  const reports = await fetchModels(manifest, { mirror, log: io.err });
  for (const r of reports) io.out(`${r.status.padEnd(10)} ${r.name} ${r.file}`);
  return 0;
}
