/** The map's typefaces, parsed once per process from the atlas-data layer's font files. */
import { loadFont } from "../shared/atlas-data.js";
import { type MapFonts, Typeface } from "./text.js";

let fonts: MapFonts | undefined;

export function loadMapFonts(): MapFonts {
  fonts ??= {
    regular: new Typeface(loadFont("regular")),
    semibold: new Typeface(loadFont("semibold")),
  };
  return fonts;
}
