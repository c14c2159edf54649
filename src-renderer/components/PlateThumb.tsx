import { useState } from 'react';
import { imageSrc } from '../lib/format';

/** A plate crop, or a neutral box when there is none (or it was deleted by retention). */
export function PlateThumb({ url, alt }: { url: string | null | undefined; alt: string }) {
  const [failed, setFailed] = useState(false);
  const src = imageSrc(url);
  if (!src || failed) return <span className="plate-thumb plate-thumb-empty" aria-label="no plate image" />;
  return <img className="plate-thumb" src={src} alt={alt} loading="lazy" onError={() => setFailed(true)} />;
}
