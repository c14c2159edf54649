/**
 * config/images.yaml: defaults, environment overrides, secrets only from the environment or
 * files, and errors that name the file, the key and the fix (without echoing secrets).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlprError } from '../../src-pipeline/common/errors.js';
import { imageFetchPath } from '../../src-pipeline/common/image-urls.js';
import { loadImagesConfig } from '../../src-pipeline/images/images-config-loader.js';
import { defaultConfigDir } from '../../src-pipeline/config-loader.js';

const dirs: string[] = [];
function configDir(yaml?: string): string {
  const d = mkdtempSync(join(tmpdir(), 'ovr-imgcfg-'));
  dirs.push(d);
  if (yaml !== undefined) writeFileSync(join(d, 'images.yaml'), yaml);
  return d;
}

function configError(fn: () => unknown): AlprError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof AlprError, String(err));
    assert.equal(err.code, 'CONFIG_INVALID');
    return err;
  }
  assert.fail('expected CONFIG_INVALID');
}

describe('config/images.yaml', () => {
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('the shipped file parses and keeps S3 off; defaults match it', () => {
    const shipped = loadImagesConfig(defaultConfigDir(), {});
    const none = loadImagesConfig(configDir(), {});
    assert.deepEqual(shipped.config, none.config);
    assert.equal(shipped.config.s3.enabled, false);
    assert.equal(shipped.config.s3.bucket, 'alpr-plate-images');
    assert.equal(shipped.config.upload.concurrency, 4);
    assert.equal(shipped.credentials, null);
  });

  it('S3 settings in the environment do not switch uploads on; they override endpoint and region and give credentials', () => {
    const env = {
      OVR_ALPR_S3_ENDPOINT: 'http://127.0.0.1:18333',
      OVR_ALPR_S3_REGION: 'eu-west-1',
      OVR_ALPR_S3_ACCESS_KEY: 'ak',
      OVR_ALPR_S3_SECRET_KEY: 'very-secret-value',
    };
    const off = loadImagesConfig(configDir(), env);
    assert.equal(off.config.s3.enabled, false);
    const on = loadImagesConfig(configDir('s3:\n  enabled: true\n  endpoint: http://minio:9000\n'), env);
    assert.equal(on.config.s3.enabled, true);
    assert.equal(on.config.s3.endpoint, 'http://127.0.0.1:18333');
    assert.equal(on.config.s3.region, 'eu-west-1');
    assert.deepEqual(on.credentials, { accessKey: 'ak', secretKey: 'very-secret-value' });
  });

  it('credentials from files named by …_FILE', () => {
    const d = configDir('s3: { enabled: true }\n');
    writeFileSync(join(d, 'ak'), 'file-access\n');
    writeFileSync(join(d, 'sk'), 'file-secret\n');
    const c = loadImagesConfig(d, { OVR_ALPR_S3_ACCESS_KEY_FILE: join(d, 'ak'), OVR_ALPR_S3_SECRET_KEY_FILE: join(d, 'sk') });
    assert.deepEqual(c.credentials, { accessKey: 'file-access', secretKey: 'file-secret' });
    const missing = configError(() => loadImagesConfig(d, { OVR_ALPR_S3_ACCESS_KEY: 'a', OVR_ALPR_S3_SECRET_KEY_FILE: join(d, 'nope') }));
    assert.match(missing.message, /OVR_ALPR_S3_SECRET_KEY_FILE: cannot read .*nope: ENOENT/);
  });

  it('refuses secrets in the file, naming the variables to use instead (and never echoing the value)', () => {
    const d = configDir('s3:\n  enabled: true\n  secret_key: hunter2-very-secret\n');
    const err = configError(() => loadImagesConfig(d, {}));
    assert.match(err.message, /images\.yaml: s3\.secret_key: secrets are never read from this file; set OVR_ALPR_S3_ACCESS_KEY/);
    assert.ok(!err.message.includes('hunter2'));
  });

  it('enabled without credentials says which variable is missing', () => {
    const err = configError(() => loadImagesConfig(configDir('s3: { enabled: true }\n'), { OVR_ALPR_S3_ACCESS_KEY: 'ak' }));
    assert.match(err.message, /s3\.enabled is true but OVR_ALPR_S3_SECRET_KEY is not set/);
  });

  it('bad values and unknown keys: file, key and fix', () => {
    const d = configDir('s3:\n  bucket: Bad_Bucket\n  endpont: http://x\nupload:\n  concurrency: 0\n  retry_initial_ms: 100\n  retry_max_ms: 50\n');
    const err = configError(() => loadImagesConfig(d, {}));
    assert.match(err.message, /images\.yaml: s3\.bucket: must be 3-63 lowercase/);
    assert.match(err.message, /images\.yaml: s3: Unrecognized key: "endpont"/i);
    assert.match(err.message, /images\.yaml: upload\.concurrency: /);
    assert.match(err.message, /Fix the key \(see the comments in config\/images\.yaml\)/);
    const env = configError(() => loadImagesConfig(configDir(), { OVR_ALPR_S3_ENDPOINT: 'not a url' }));
    assert.match(env.message, /s3\.endpoint: .*\(from OVR_ALPR_S3_ENDPOINT\)/);
    assert.match(configError(() => loadImagesConfig(configDir('s3: [1, 2'), {})).message, /not valid YAML/);
  });
});

describe('imageFetchPath (where a client loads a stored picture from)', () => {
  it('maps s3:// URLs to the API route, keeps local and http(s) URLs, refuses the rest', () => {
    assert.equal(imageFetchPath('s3://alpr-plate-images/2024/05/01/ev-plate.jpg'), '/images/s3/alpr-plate-images/2024/05/01/ev-plate.jpg');
    assert.equal(imageFetchPath('/images/2024/05/01/ev-plate.jpg'), '/images/2024/05/01/ev-plate.jpg');
    assert.equal(imageFetchPath('https://cdn.example/x.jpg'), 'https://cdn.example/x.jpg');
    assert.equal(imageFetchPath(null), null);
    assert.equal(imageFetchPath('s3://alpr-plate-images/2024/../../etc/passwd'), null);
    assert.equal(imageFetchPath('s3://Bad_Bucket/k.jpg'), null);
    assert.equal(imageFetchPath('file:///etc/passwd'), null);
    assert.equal(imageFetchPath('s3://b-1/a b.jpg'), '/images/s3/b-1/a%20b.jpg');
  });
});
