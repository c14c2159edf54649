/**
 * A local HTTP receiver on 127.0.0.1 that records every request (method, path, headers, raw
 * body) and answers with scripted status codes: the stand-in for Slack, webhook targets and
 * Twilio's API in alert tests.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface HttpReceiver {
  url: string;
  requests: ReceivedRequest[];
  /** Statuses for the next requests, in order; afterwards every request gets `defaultStatus`. */
  script(statuses: number[]): void;
  /** Delay each answer by ms (for timeout tests). */
  delay(ms: number): void;
  waitFor(n: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

export async function startReceiver(opts: { defaultStatus?: number; responseBody?: string } = {}): Promise<HttpReceiver> {
  const requests: ReceivedRequest[] = [];
  let statuses: number[] = [];
  let delayMs = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const status = statuses.shift() ?? opts.defaultStatus ?? 200;
      const answer = () => {
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? (opts.responseBody ?? 'ok') : 'error');
        for (const w of waiters.filter((x) => requests.length >= x.n)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      };
      if (delayMs) setTimeout(answer, delayMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script: (s) => (statuses = [...s]),
    delay: (ms) => (delayMs = ms),
    waitFor: (n, timeoutMs = 15_000) =>
      requests.length >= n
        ? Promise.resolve(requests)
        : new Promise((resolve, reject) => {
            const t = setTimeout(() => reject(new Error(`only ${requests.length} of ${n} requests arrived`)), timeoutMs);
            waiters.push({
              n,
              resolve: () => {
                clearTimeout(t);
                resolve(requests);
              },
            });
          }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
