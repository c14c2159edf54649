/**
 * Reads an MJPEG stream (multipart/x-mixed-replace, each part with a Content-Length) over
 * fetch and hands each JPEG on as a Blob. Unlike an <img>, this sends the token as a header,
 * lets the page draw frames on a canvas together with the overlay, and notices a broken stream.
 */
import { apiToken, apiUrl } from './client';

const HEADER_END = [13, 10, 13, 10];

function indexOf(buf: Uint8Array, pattern: number[], from: number): number {
  outer: for (let i = from; i <= buf.length - pattern.length; i++) {
    for (let j = 0; j < pattern.length; j++) if (buf[i + j] !== pattern[j]) continue outer;
    return i;
  }
  return -1;
}

/** Calls `onFrame` for every JPEG until `signal` aborts or the stream ends (then it resolves; errors reject). */
export async function readMjpeg(path: string, onFrame: (jpeg: Blob) => void, signal: AbortSignal): Promise<void> {
  const token = apiToken();
  const res = await fetch(apiUrl(path), { headers: token ? { authorization: `Bearer ${token}` } : {}, signal, cache: 'no-store' });
  if (!res.ok || !res.body) throw new Error(`the video stream answered ${res.status}`);
  const reader = res.body.getReader();
  let buf = new Uint8Array(0);
  const decoder = new TextDecoder();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    const next = new Uint8Array(buf.length + value.length);
    next.set(buf);
    next.set(value, buf.length);
    buf = next;
    // Take every complete part out of the buffer.
    for (;;) {
      const headerEnd = indexOf(buf, HEADER_END, 0);
      if (headerEnd < 0) break;
      const headers = decoder.decode(buf.subarray(0, headerEnd));
      const m = /content-length:\s*(\d+)/i.exec(headers);
      if (!m) throw new Error('the video stream has a part without Content-Length');
      const length = Number(m[1]);
      const start = headerEnd + HEADER_END.length;
      if (buf.length < start + length) break;
      onFrame(new Blob([buf.slice(start, start + length)], { type: 'image/jpeg' }));
      buf = buf.slice(start + length);
    }
  }
}
