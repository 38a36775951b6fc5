/**
 * Cluster colours: 36 colours spread evenly in OKLCH (12 hues in three tones: vivid, deep and
 * light), assigned so that clusters near each other get colours far apart. Each cluster takes
 * the colour whose smallest distance (in OKLab) to the colours already given to other clusters
 * is largest, with that distance weighted up by how far away those clusters are: up to 36
 * clusters never share a colour, and a neighbour's colour is the last one a cluster gets.
 */
import { distanceKm } from "../geo.js";
import type { Rgba } from "./style.js";

interface Lab {
  l: number;
  a: number;
  b: number;
}

const TONES = [
  { l: 0.63, c: 0.16 },
  { l: 0.48, c: 0.13 },
  { l: 0.77, c: 0.12 },
] as const;

/** Hue order of each tone: neighbours in the list are far apart on the hue circle. */
const HUE_STEPS = [0, 6, 3, 9, 1, 7, 4, 10, 2, 8, 5, 11] as const;

export const PALETTE: readonly Rgba[] = TONES.flatMap((tone, t) =>
  HUE_STEPS.map((step) => oklchToRgb(tone.l, tone.c, 25 + step * 30 + t * 15)),
);

const PALETTE_LAB: readonly Lab[] = PALETTE.map(rgbToOklab);

/** Distances beyond this (km) make sharing a colour acceptable. */
const FAR_KM = 1500;

/** Palette indices for clusters at `centroids`, in the order given (largest cluster first). */
export function assignColours(centroids: readonly { lat: number; lon: number }[]): number[] {
  const assigned: number[] = [];
  centroids.forEach((centroid, i) => {
    let best = 0;
    let bestScore = Number.NEGATIVE_INFINITY;
    PALETTE_LAB.forEach((colour, index) => {
      let score = Number.POSITIVE_INFINITY;
      for (let j = 0; j < i; j++) {
        const other = PALETTE_LAB[assigned[j] as number] as Lab;
        const weight =
          0.3 + distanceKm(centroid, centroids[j] as { lat: number; lon: number }) / FAR_KM;
        score = Math.min(score, (labDistance(colour, other) + 0.05) * weight);
      }
      // The vivid tone first, while it is as good.
      score -= index * 1e-4;
      if (score > bestScore) {
        best = index;
        bestScore = score;
      }
    });
    assigned.push(best);
  });
  return assigned;
}

function labDistance(x: Lab, y: Lab): number {
  return Math.hypot(x.l - y.l, x.a - y.a, x.b - y.b);
}

function oklchToRgb(l: number, c: number, hueDegrees: number): Rgba {
  // Lower the chroma until the colour fits in sRGB.
  for (let chroma = c; chroma >= 0; chroma -= 0.005) {
    const h = (hueDegrees * Math.PI) / 180;
    const linear = oklabToLinear(l, chroma * Math.cos(h), chroma * Math.sin(h));
    if (linear.every((v) => v >= -1e-4 && v <= 1 + 1e-4)) {
      const [r, g, b] = linear.map((v) => Math.round(255 * encode(Math.min(1, Math.max(0, v)))));
      return { r: r as number, g: g as number, b: b as number, a: 1 };
    }
  }
  const grey = Math.round(255 * encode(l ** 3));
  return { r: grey, g: grey, b: grey, a: 1 };
}

function oklabToLinear(l: number, a: number, b: number): [number, number, number] {
  const l1 = (l + 0.3963377774 * a + 0.2158037573 * b) ** 3;
  const m1 = (l - 0.1055613458 * a - 0.0638541728 * b) ** 3;
  const s1 = (l - 0.0894841775 * a - 1.291485548 * b) ** 3;
  return [
    4.0767416621 * l1 - 3.3077115913 * m1 + 0.2309699292 * s1,
    -1.2684380046 * l1 + 2.6097574011 * m1 - 0.3413193965 * s1,
    -0.0041960863 * l1 - 0.7034186147 * m1 + 1.707614701 * s1,
  ];
}

function rgbToOklab(colour: Rgba): Lab {
  const [r, g, b] = [colour.r, colour.g, colour.b].map((v) => decode(v / 255)) as [
    number,
    number,
    number,
  ];
  const l = Math.cbrt(0.4122214708 * r + 0.5363325363 * g + 0.0514459929 * b);
  const m = Math.cbrt(0.2119034982 * r + 0.6806995451 * g + 0.1073969566 * b);
  const s = Math.cbrt(0.0883024619 * r + 0.2817188376 * g + 0.6299787005 * b);
  return {
    l: 0.2104542553 * l + 0.793617785 * m - 0.0040720468 * s,
    a: 1.9779984951 * l - 2.428592205 * m + 0.4505937099 * s,
    b: 0.0259040371 * l + 0.7827717662 * m - 0.808675766 * s,
  };
}

function encode(linear: number): number {
  return linear <= 0.0031308 ? 12.92 * linear : 1.055 * linear ** (1 / 2.4) - 0.055;
}

function decode(srgb: number): number {
  return srgb <= 0.04045 ? srgb / 12.92 : ((srgb + 0.055) / 1.055) ** 2.4;
}
