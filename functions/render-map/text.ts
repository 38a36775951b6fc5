/**
 * Text for the map: glyph outlines of a TrueType font (parsed by opentype.js, pure JS) turned
 * into {@link Path}s for the rasterizer, kerned. Characters the font lacks lose their accents
 * (NFD without combining marks) or become "?", so a label never shows an empty box.
 */
import opentype from "opentype.js";
import type { Rgba } from "../shared/map/style.js";
import { Path, type Raster } from "./raster.js";

export interface TextMetrics {
  width: number;
  /** Distance from the baseline up to the top of capitals, in pixels. */
  capHeight: number;
}

/** The map's two weights. */
export interface MapFonts {
  regular: Typeface;
  semibold: Typeface;
}

export class Typeface {
  private readonly font: opentype.Font;

  constructor(font: ArrayBuffer) {
    this.font = opentype.parse(font);
  }

  /** `text` with only characters the font can draw. */
  drawable(text: string): string {
    let out = "";
    for (const char of text.replace(/\s+/g, " ")) {
      if (this.font.charToGlyphIndex(char) > 0) {
        out += char;
        continue;
      }
      const plain = char.normalize("NFD").replace(/\p{M}/gu, "");
      out += plain.length > 0 && this.font.charToGlyphIndex(plain) > 0 ? plain : "?";
    }
    return out;
  }

  measure(text: string, size: number): TextMetrics {
    const drawable = this.drawable(text);
    return {
      width: this.font.getAdvanceWidth(drawable, size, { kerning: true }),
      capHeight: (this.capHeightUnits() / this.font.unitsPerEm) * size,
    };
  }

  /** The outline of `text` with its baseline starting at (x, y). */
  path(text: string, x: number, y: number, size: number): Path {
    const path = new Path();
    const outline = this.font.getPath(this.drawable(text), x, y, size, { kerning: true });
    for (const command of outline.commands) {
      switch (command.type) {
        case "M":
          path.moveTo(command.x, command.y);
          break;
        case "L":
          path.lineTo(command.x, command.y);
          break;
        case "Q":
          path.quadraticCurveTo(command.x1, command.y1, command.x, command.y);
          break;
        case "C":
          path.bezierCurveTo(command.x1, command.y1, command.x2, command.y2, command.x, command.y);
          break;
        case "Z":
          path.closePath();
          break;
      }
    }
    return path;
  }

  /** `text` cut with an ellipsis to at most `maxWidth` pixels. */
  truncate(text: string, size: number, maxWidth: number): string {
    if (this.measure(text, size).width <= maxWidth) return text;
    let cut = [...text];
    while (cut.length > 1 && this.measure(`${cut.join("").trimEnd()}…`, size).width > maxWidth) {
      cut = cut.slice(0, -1);
    }
    return `${cut.join("").trimEnd()}…`;
  }

  private capHeightUnits(): number {
    const os2 = this.font.tables.os2 as { sCapHeight?: number } | undefined;
    if (os2?.sCapHeight) return os2.sCapHeight;
    return this.font.charToGlyph("H").getMetrics().yMax;
  }
}

/** Draws `content` with its baseline starting at (x, baseline), over a halo when given. */
export function drawText(
  raster: Raster,
  face: Typeface,
  content: string,
  x: number,
  baseline: number,
  size: number,
  colour: Rgba,
  halo?: { width: number; colour: Rgba },
): void {
  const path = face.path(content, x, baseline, size);
  if (halo) raster.stroke(path, halo.width, halo.colour);
  raster.fill(path, colour);
}
