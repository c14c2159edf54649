/**
 * Where a client loads an event picture from. Events carry the URL their store gave:
 * `/images/…` (the local folder the API serves), `s3://bucket/key` (S3: the API serves it under
 * `/images/s3/bucket/key`, from the edge's cache or as a redirect to a presigned GET URL), or
 * an absolute http(s) URL. Runtime-neutral so the console can use it too.
 */

/** The path (or absolute URL) to fetch a stored image URL through, or null when it cannot be served. */
export function imageFetchPath(url: string | null | undefined): string | null {
  if (!url) return null;
  if (url.startsWith('/images/')) return url;
  if (/^https?:\/\//i.test(url)) return url;
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)$/.exec(url);
  if (!m) return null;
  const key = m[2];
  if (key.split('/').some((p) => p === '' || p === '.' || p === '..') || key.includes('\\')) return null;
  return `/images/s3/${m[1]}/${key.split('/').map(encodeURIComponent).join('/')}`;
}
