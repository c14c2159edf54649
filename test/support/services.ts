/**
 * The backend services the bus tests talk to: a Kafka broker and a schema registry started by
 * scripts/services.sh (which .ci/run calls). Tests find them through the variables that script
 * prints. Same skip policy as shared.ts: missing in CI is a failure, elsewhere a loud skip.
 */
const HINT = 'start them with `eval "$(scripts/services.sh up kafka registry | sed \'s/^/export /\')"` (.ci/run does this)';

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

export function kafkaBrokers(): string[] {
  return (process.env.OVR_ALPR_KAFKA_BROKERS ?? '')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
}
