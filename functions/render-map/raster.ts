/**
 * A small anti-aliased 2-D rasterizer in plain TypeScript, so the map renders on Lambda from an
 * esbuild bundle with no browser, no native module and no canvas package.
 *
 * Paths are recorded through the CanvasRenderingContext2D subset d3-geo's geoPath writes to
 * (moveTo, lineTo, closePath, arc), plus the curves glyph outlines need. A fill accumulates
 * every edge's signed area into a per-row buffer (the technique of font-rs and stb_truetype);
 * a running sum along each row then gives every pixel's exact coverage, so edges are smooth
 * without supersampling. The fill rule is non-zero (|winding| clamped to 1), which also lets a
 * stroke be drawn as the union of one quad per segment plus round joins.
 */

import type { Rgba } from "../shared/map/style.js";

/** Polylines in pixel coordinates: [x0, y0, x1, y1, ...] each, and whether each is closed. */
export class Path {
  readonly polylines: number[][] = [];
  readonly closed: boolean[] = [];
  private current: number[] | undefined;

  /** For d3-geo's context interface: a Path is one path already. */
  beginPath(): void {}

  moveTo(x: number, y: number): void {
    this.current = [x, y];
    this.polylines.push(this.current);
    this.closed.push(false);
  }

  lineTo(x: number, y: number): void {
    if (!this.current) {
      this.moveTo(x, y);
      return;
    }
    this.current.push(x, y);
  }

  closePath(): void {
    if (!this.current) return;
    this.closed[this.closed.length - 1] = true;
    this.current = undefined;
  }

  quadraticCurveTo(cx: number, cy: number, x: number, y: number): void {
    const [x0, y0] = this.lastPoint();
    const steps = curveSteps(Math.hypot(cx - x0, cy - y0) + Math.hypot(x - cx, y - cy));
    for (let i = 1; i <= steps; i++) {
      const t = i / steps;
      const u = 1 - t;
      this.lineTo(u * u * x0 + 2 * u * t * cx + t * t * x, u * u * y0 + 2 * u * t * cy + t * t * y);
    }
  }

  bezierCurveTo(c1x: number, c1y: number, c2x: number, c2y: number, x: number, y: number): void {
    const [x0, y0] = this.lastPoint();
    const steps = curveSteps(
      Math.hypot(c1x - x0, c1y - y0) +
        Math.hypot(c2x - c1x, c2y - c1y) +
        Math.hypot(x - c2x, y - c2y),
    );
    for (let i = 1; i <= steps; i++) {
      const t = i / steps;
      const u = 1 - t;
      this.lineTo(
        u * u * u * x0 + 3 * u * u * t * c1x + 3 * u * t * t * c2x + t * t * t * x,
        u * u * u * y0 + 3 * u * u * t * c1y + 3 * u * t * t * c2y + t * t * t * y,
      );
    }
  }

  /** A full circle (all d3-geo asks for: point symbols); partial arcs are approximated too. */
  arc(cx: number, cy: number, radius: number, start: number, end: number): void {
    const steps = Math.max(8, Math.ceil((Math.abs(end - start) * radius) / 2));
    const first = [cx + radius * Math.cos(start), cy + radius * Math.sin(start)] as const;
    if (this.current) this.lineTo(first[0], first[1]);
    else this.moveTo(first[0], first[1]);
    for (let i = 1; i <= steps; i++) {
      const angle = start + ((end - start) * i) / steps;
      this.lineTo(cx + radius * Math.cos(angle), cy + radius * Math.sin(angle));
    }
  }

  /** A closed circle as its own subpath. */
  circle(cx: number, cy: number, radius: number): this {
    const steps = Math.max(12, Math.min(96, Math.ceil(radius * 2)));
    this.moveTo(cx + radius, cy);
    for (let i = 1; i < steps; i++) {
      const angle = (2 * Math.PI * i) / steps;
      this.lineTo(cx + radius * Math.cos(angle), cy + radius * Math.sin(angle));
    }
    this.closePath();
    return this;
  }

  /** A rectangle with rounded corners as its own closed subpath. */
  roundedRect(x: number, y: number, width: number, height: number, radius: number): this {
    const r = Math.max(0, Math.min(radius, width / 2, height / 2));
    const corner = (cx: number, cy: number, from: number) => {
      for (let i = 0; i <= 6; i++) {
        const angle = from + (Math.PI / 2) * (i / 6);
        this.lineTo(cx + r * Math.cos(angle), cy + r * Math.sin(angle));
      }
    };
    this.moveTo(x + r, y);
    corner(x + width - r, y + r, -Math.PI / 2);
    corner(x + width - r, y + height - r, 0);
    corner(x + r, y + height - r, Math.PI / 2);
    corner(x + r, y + r, Math.PI);
    this.closePath();
    return this;
  }

  private lastPoint(): [number, number] {
    const current = this.current;
    if (!current || current.length < 2) return [0, 0];
    return [current[current.length - 2] as number, current[current.length - 1] as number];
  }
}

function curveSteps(length: number): number {
  return Math.max(2, Math.min(32, Math.ceil(Math.sqrt(length) * 1.5)));
}

/** An opaque RGBA image that paths are painted onto ("source over", in sRGB). */
export class Raster {
  readonly pixels: Uint8ClampedArray;
  /** Signed-area accumulator: one row of width + 2 cells per pixel row. */
  private readonly acc: Float32Array;
  private readonly stride: number;
  private minX = Number.POSITIVE_INFINITY;
  private maxX = Number.NEGATIVE_INFINITY;
  private minY = Number.POSITIVE_INFINITY;
  private maxY = Number.NEGATIVE_INFINITY;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgba = { r: 255, g: 255, b: 255, a: 1 },
  ) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new RangeError(`raster size must be positive integers, got ${width}x${height}`);
    }
    this.pixels = new Uint8ClampedArray(width * height * 4);
    for (let i = 0; i < this.pixels.length; i += 4) {
      this.pixels[i] = background.r;
      this.pixels[i + 1] = background.g;
      this.pixels[i + 2] = background.b;
      this.pixels[i + 3] = 255;
    }
    this.stride = width + 2;
    this.acc = new Float32Array(this.stride * height);
  }

  /** Fills the closed area of every subpath (each is closed implicitly), non-zero rule. */
  fill(path: Path, paint: Rgba): void {
    if (paint.a <= 0) return;
    for (const line of path.polylines) {
      const n = line.length;
      if (n < 6) continue;
      for (let i = 0; i < n; i += 2) {
        const j = (i + 2) % n;
        this.edge(
          line[i] as number,
          line[i + 1] as number,
          line[j] as number,
          line[j + 1] as number,
        );
      }
    }
    this.composite(paint);
  }

  /** Strokes every subpath with round joins and butt ends, `width` pixels wide. */
  stroke(path: Path, width: number, paint: Rgba): void {
    if (paint.a <= 0 || width <= 0) return;
    const h = width / 2;
    const joins = width >= 1.6;
    path.polylines.forEach((line, index) => {
      const closed = path.closed[index] === true;
      const n = line.length;
      if (n < 4) return;
      const segments = closed ? n / 2 : n / 2 - 1;
      for (let s = 0; s < segments; s++) {
        const i = 2 * s;
        const j = (i + 2) % n;
        const x0 = line[i] as number;
        const y0 = line[i + 1] as number;
        const x1 = line[j] as number;
        const y1 = line[j + 1] as number;
        const length = Math.hypot(x1 - x0, y1 - y0);
        if (length === 0) continue;
        const nx = (-(y1 - y0) / length) * h;
        const ny = ((x1 - x0) / length) * h;
        this.quad(x0 + nx, y0 + ny, x1 + nx, y1 + ny, x1 - nx, y1 - ny, x0 - nx, y0 - ny);
        if (joins && (closed || s < segments - 1)) this.disc(x1, y1, h);
      }
    });
    this.composite(paint);
  }

  private quad(
    ax: number,
    ay: number,
    bx: number,
    by: number,
    cx: number,
    cy: number,
    dx: number,
    dy: number,
  ): void {
    this.edge(ax, ay, bx, by);
    this.edge(bx, by, cx, cy);
    this.edge(cx, cy, dx, dy);
    this.edge(dx, dy, ax, ay);
  }

  /** A disc wound the same way as {@link quad}'s (clockwise on screen). */
  private disc(cx: number, cy: number, r: number): void {
    const steps = Math.max(8, Math.min(32, Math.ceil(r * 4)));
    let px = cx + r;
    let py = cy;
    for (let i = 1; i <= steps; i++) {
      const angle = (-2 * Math.PI * i) / steps;
      const x = cx + r * Math.cos(angle);
      const y = cy + r * Math.sin(angle);
      this.edge(px, py, x, y);
      px = x;
      py = y;
    }
  }

  /** Adds one edge to the accumulator, clipped to the raster (x clamped, y cut). */
  private edge(x0: number, y0: number, x1: number, y1: number): void {
    if (y0 === y1 || !Number.isFinite(x0 + y0 + x1 + y1)) return;
    const w = this.width;
    // Split where the edge crosses x = 0 or x = width, so that clamping x keeps the areas right.
    if (x0 < 0 || x1 < 0 || x0 > w || x1 > w) {
      const cuts: number[] = [];
      for (const bound of [0, w]) {
        const t = (bound - x0) / (x1 - x0);
        if (t > 0 && t < 1) cuts.push(t);
      }
      cuts.sort((a, b) => a - b);
      let t0 = 0;
      for (const t1 of [...cuts, 1]) {
        const ax = x0 + (x1 - x0) * t0;
        const ay = y0 + (y1 - y0) * t0;
        const bx = x0 + (x1 - x0) * t1;
        const by = y0 + (y1 - y0) * t1;
        this.clippedEdge(clamp(ax, 0, w), ay, clamp(bx, 0, w), by);
        t0 = t1;
      }
      return;
    }
    this.clippedEdge(x0, y0, x1, y1);
  }

  private clippedEdge(x0: number, y0: number, x1: number, y1: number): void {
    if (y0 === y1) return;
    let direction = 1;
    if (y0 > y1) {
      direction = -1;
      [x0, x1] = [x1, x0];
      [y0, y1] = [y1, y0];
    }
    const top = Math.max(y0, 0);
    const bottom = Math.min(y1, this.height);
    if (top >= bottom) return;
    const dxdy = (x1 - x0) / (y1 - y0);
    let x = x0 + (top - y0) * dxdy;
    const firstRow = Math.floor(top);
    const lastRow = Math.ceil(bottom) - 1;
    this.minY = Math.min(this.minY, firstRow);
    this.maxY = Math.max(this.maxY, lastRow);
    this.minX = Math.min(this.minX, Math.floor(Math.min(x0, x1)));
    this.maxX = Math.max(this.maxX, Math.ceil(Math.max(x0, x1)) + 1);
    const acc = this.acc;
    for (let row = firstRow; row <= lastRow; row++) {
      const start = row * this.stride;
      const dy = Math.min(row + 1, bottom) - Math.max(row, top);
      const xNext = x + dxdy * dy;
      const d = dy * direction;
      const left = Math.min(x, xNext);
      const right = Math.max(x, xNext);
      const leftFloor = Math.floor(left);
      const rightCeil = Math.ceil(right);
      if (rightCeil <= leftFloor + 1) {
        // Both ends in one pixel column: split the area at the mean x.
        const xm = 0.5 * (x + xNext) - leftFloor;
        acc[start + leftFloor] = (acc[start + leftFloor] as number) + d - d * xm;
        acc[start + leftFloor + 1] = (acc[start + leftFloor + 1] as number) + d * xm;
      } else {
        const s = 1 / (right - left);
        const leftFrac = left - leftFloor;
        const a0 = 0.5 * s * (1 - leftFrac) * (1 - leftFrac);
        const rightFrac = right - rightCeil + 1;
        const am = 0.5 * s * rightFrac * rightFrac;
        acc[start + leftFloor] = (acc[start + leftFloor] as number) + d * a0;
        if (rightCeil === leftFloor + 2) {
          acc[start + leftFloor + 1] = (acc[start + leftFloor + 1] as number) + d * (1 - a0 - am);
        } else {
          const a1 = s * (1.5 - leftFrac);
          acc[start + leftFloor + 1] = (acc[start + leftFloor + 1] as number) + d * (a1 - a0);
          for (let xi = leftFloor + 2; xi < rightCeil - 1; xi++) {
            acc[start + xi] = (acc[start + xi] as number) + d * s;
          }
          const a2 = a1 + (rightCeil - leftFloor - 3) * s;
          acc[start + rightCeil - 1] = (acc[start + rightCeil - 1] as number) + d * (1 - a2 - am);
        }
        acc[start + rightCeil] = (acc[start + rightCeil] as number) + d * am;
      }
      x = xNext;
    }
  }

  /** Turns the accumulated areas into coverage, paints it, and clears the accumulator. */
  private composite(paint: Rgba): void {
    if (this.minY > this.maxY) return;
    const x0 = Math.max(0, this.minX);
    const x1 = Math.min(this.stride - 1, this.maxX);
    const pixels = this.pixels;
    const acc = this.acc;
    const alpha = Math.min(1, paint.a);
    for (let row = this.minY; row <= this.maxY; row++) {
      const start = row * this.stride;
      let sum = 0;
      let p = (row * this.width + x0) * 4;
      for (let x = x0; x <= x1; x++, p += 4) {
        sum += acc[start + x] as number;
        acc[start + x] = 0;
        if (x >= this.width) continue;
        const coverage = sum < 0 ? -sum : sum;
        if (coverage < 1 / 512) continue;
        const a = Math.min(coverage, 1) * alpha;
        const keep = 1 - a;
        pixels[p] = (pixels[p] as number) * keep + paint.r * a;
        pixels[p + 1] = (pixels[p + 1] as number) * keep + paint.g * a;
        pixels[p + 2] = (pixels[p + 2] as number) * keep + paint.b * a;
      }
    }
    this.minX = Number.POSITIVE_INFINITY;
    this.maxX = Number.NEGATIVE_INFINITY;
    this.minY = Number.POSITIVE_INFINITY;
    this.maxY = Number.NEGATIVE_INFINITY;
  }

  /** The colour at (x, y), for tests and checks. */
  pixel(x: number, y: number): [number, number, number] {
    const p = (Math.floor(y) * this.width + Math.floor(x)) * 4;
    return [this.pixels[p] ?? 0, this.pixels[p + 1] ?? 0, this.pixels[p + 2] ?? 0];
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.max(min, Math.min(max, value));
}
