// Rasterises resources/icon.svg into the NxN.png set that electron-builder installs as the Linux
// hicolor icons (linux.icon in electron-builder.yml). Uses sharp (libvips + librsvg), which the
// pipeline already depends on, so no ImageMagick or rsvg-convert is needed.
//   node resources/render-icons.mjs
import { mkdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const SIZES = [16, 24, 32, 48, 64, 128, 256, 512];
const here = (p) => fileURLToPath(new URL(p, import.meta.url));

const svg = await readFile(here('./icon.svg'));
await mkdir(here('./icons'), { recursive: true });
for (const size of SIZES) {
  // Render at the target resolution (density scales the SVG's 512 px viewBox) rather than
  // downscaling one large bitmap, so small sizes stay sharp.
  const out = here(`./icons/${size}x${size}.png`);
  await sharp(svg, { density: (72 * size) / 512 })
    .resize(size, size)
    .png({ compressionLevel: 9 })
    .toFile(out);
  console.log(out);
}
