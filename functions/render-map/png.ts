/** PNG encoding of a {@link Raster} (8-bit RGB; the map is opaque). */
import { encode } from "fast-png";
import type { Raster } from "./raster.js";

export function encodePng(raster: Raster): Uint8Array {
  const { width, height, pixels } = raster;
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < pixels.length; i += 4, j += 3) {
    rgb[j] = pixels[i] as number;
    rgb[j + 1] = pixels[i + 1] as number;
    rgb[j + 2] = pixels[i + 2] as number;
  }
  return encode({ width, height, data: rgb, channels: 3, depth: 8 });
}
