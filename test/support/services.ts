/**
 * The backend services the bus and store tests talk to: a Kafka broker, a schema registry and an S3 server started by
 * scripts/services.sh (which .ci/run calls). Tests find them through the variables that script
 * prints. Same skip policy as shared.ts: missing in CI is a failure, elsewhere a loud skip.
 */
const HINT = 'start them with `eval "$(scripts/services.sh up kafka registry s3 | sed \'s/^/export /\')"` (.ci/run does this)';

function need(variable: string, what: string, file: string): false | string {
  if (process.env[variable]) return false;
  const message = `${variable} is not set: no ${what} to test against; ${HINT}`;
  if (process.env.CI) throw new Error(`${message}; CI must run ${file}, refusing to skip`);
  process.stderr.write(`\n*** SKIPPED: ${file}: ${message}\n\n`);
  return message;
}

export function kafkaSkip(file: string): false | string {
  return need('OVR_ALPR_KAFKA_BROKERS', 'Kafka broker', file);
}

export function registrySkip(file: string): false | string {
  return need('OVR_ALPR_SCHEMA_REGISTRY_URL', 'schema registry', file);
}

/** S3 (SeaweedFS from `scripts/services.sh up s3`): OVR_ALPR_S3_ENDPOINT and its credentials; strict like the others. */
export function s3Skip(file: string): false | string {
  return need('OVR_ALPR_S3_ENDPOINT', 'S3 server', file);
}

/** The S3 settings services.sh prints (secret included: for tests only, never log it). */
export function s3Settings(): { endpoint: string; region: string; bucket: string; accessKey: string; secretKey: string } {
  return {
    endpoint: process.env.OVR_ALPR_S3_ENDPOINT ?? '',
    region: process.env.OVR_ALPR_S3_REGION ?? 'us-east-1',
    bucket: process.env.OVR_ALPR_S3_BUCKET ?? 'ovr-alpr',
    accessKey: process.env.OVR_ALPR_S3_ACCESS_KEY ?? '',
    secretKey: process.env.OVR_ALPR_S3_SECRET_KEY ?? '',
  };
}

export function kafkaBrokers(): string[] {
  return (process.env.OVR_ALPR_KAFKA_BROKERS ?? '')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
}
