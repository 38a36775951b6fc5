import { createRequire } from "node:module";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildClusters } from "../../functions/clustering/build-clusters.js";
import type { Venue } from "../../functions/clustering/venue-table.js";
import { dateRange } from "../../functions/shared/map/captions.js";
import { LabelBoard, labelPositions } from "../../functions/shared/map/labels.js";
import { dotRadius } from "../../functions/shared/map/style.js";
import {
  isWorldTopology,
  projectBasemap,
  projectClusters,
  ringArea,
  shapeBounds,
  viewFrameBounds,
  WORLD_WIDTH,
  type WorldTopology,
  worldProjection,
} from "../../site/src/map-geometry.js";
import {
  constrainView,
  fitView,
  type HitTarget,
  hitTest,
  interpolateView,
  type LabelRequest,
  placeLabels,
  pointInRings,
  tooltipPosition,
  toScreen,
  toWorld,
  type View,
  zoomAt,
} from "../../site/src/map-model.js";
import { formatDuration, mapSummary, runLine, runOfClusters } from "../../site/src/run-text.js";

const viewport = { width: 900, height: 500 };

describe("the view", () => {
  it("fits bounds whole and centred, within a zoom limit", () => {
    const view = fitView({ x0: 100, y0: 50, x1: 300, y1: 100 }, viewport, 10);
    expect(view.k).toBeCloseTo(4.4);
    const [cx, cy] = toScreen(view, 200, 75);
    expect(cx).toBeCloseTo(450);
    expect(cy).toBeCloseTo(250);
    expect(fitView({ x0: 0, y0: 0, x1: 1, y1: 1 }, viewport, 0, 50).k).toBe(50);
  });

  it("zooms about the pointer: the world point under it stays put", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.2, max: 20, noNaN: true }),
        fc.double({ min: 0, max: 900, noNaN: true }),
        fc.double({ min: 0, max: 500, noNaN: true }),
        fc.double({ min: 0.1, max: 10, noNaN: true }),
        (k, px, py, factor) => {
          const view: View = { k, x: 13, y: -7 };
          const before = toWorld(view, px, py);
          const after = zoomAt(view, factor, px, py, { minK: 0.01, maxK: 1000 });
          const [wx, wy] = toWorld(after, px, py);
          expect(wx).toBeCloseTo(before[0], 6);
          expect(wy).toBeCloseTo(before[1], 6);
        },
      ),
    );
  });

  it("clamps the zoom to its limits", () => {
    const view = zoomAt({ k: 1, x: 0, y: 0 }, 1000, 10, 10, { minK: 0.5, maxK: 8 });
    expect(view.k).toBe(8);
    expect(zoomAt(view, 1e-6, 10, 10, { minK: 0.5, maxK: 8 }).k).toBe(0.5);
  });

  it("keeps the world in sight however far it is dragged", () => {
    const world = { x0: 0, y0: 0, x1: 1000, y1: 500 };
    const far = constrainView({ k: 4, x: -100_000, y: 90_000 }, world, viewport, 60);
    const [right, bottom] = toScreen(far, world.x1, world.y1);
    const [left, top] = toScreen(far, world.x0, world.y0);
    expect(right).toBeGreaterThanOrEqual(60 - 1e-9);
    expect(top).toBeLessThanOrEqual(viewport.height - 60 + 1e-9);
    expect(left).toBeLessThan(right);
    expect(bottom).toBeGreaterThan(top);
    // A world smaller than the viewport stays inside it.
    const small = constrainView({ k: 0.5, x: -400, y: 0 }, world, viewport, 60);
    expect(toScreen(small, 0, 0)[0]).toBeGreaterThanOrEqual(0);
  });

  it("animates from one view to the other", () => {
    const a: View = { k: 1, x: 0, y: 0 };
    const b: View = { k: 8, x: -2000, y: -900 };
    expect(interpolateView(a, b, 0, viewport)).toEqual(a);
    const end = interpolateView(a, b, 1, viewport);
    expect(end.k).toBeCloseTo(8);
    expect(end.x).toBeCloseTo(-2000);
    expect(end.y).toBeCloseTo(-900);
    const mid = interpolateView(a, b, 0.5, viewport);
    expect(mid.k).toBeCloseTo(Math.sqrt(8));
  });
});

describe("label placement", () => {
  const overlap = (
    a: { x: number; y: number; width: number; height: number },
    b: { x: number; y: number; width: number; height: number },
  ) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

  it("places every label when nothing competes for the room (placing none would pass the rest)", () => {
    // Dots on a wide grid, each label's room free of other labels and dots.
    const requests: LabelRequest[] = Array.from({ length: 12 }, (_, id) => ({
      id,
      x: 100 + (id % 4) * 230,
      y: 80 + Math.floor(id / 4) * 150,
      r: 6,
      width: 120,
      height: 16,
    }));
    const placed = placeLabels(requests, viewport);
    expect(placed.map((label) => label.id).sort((a, b) => a - b)).toEqual(
      requests.map((request) => request.id),
    );
  });

  it("never overlaps labels, keeps them on screen and off other dots", () => {
    const request = fc.record({
      x: fc.double({ min: 0, max: 900, noNaN: true }),
      y: fc.double({ min: 0, max: 500, noNaN: true }),
      r: fc.double({ min: 3, max: 14, noNaN: true }),
      width: fc.double({ min: 20, max: 180, noNaN: true }),
    });
    fc.assert(
      fc.property(fc.array(request, { maxLength: 120 }), (items) => {
        const requests: LabelRequest[] = items.map((item, id) => ({ ...item, id, height: 16 }));
        const placed = placeLabels(requests, viewport);
        for (let i = 0; i < placed.length; i++) {
          const a = placed[i];
          if (!a) continue;
          expect(a.x).toBeGreaterThanOrEqual(0);
          expect(a.y).toBeGreaterThanOrEqual(0);
          expect(a.x + a.width).toBeLessThanOrEqual(viewport.width);
          expect(a.y + a.height).toBeLessThanOrEqual(viewport.height);
          for (let j = i + 1; j < placed.length; j++) {
            expect(overlap(a, placed[j] as typeof a)).toBe(false);
          }
          for (const dot of requests) {
            if (dot.id === a.id) continue;
            const dx = Math.max(a.x - dot.x, 0, dot.x - (a.x + a.width));
            const dy = Math.max(a.y - dot.y, 0, dot.y - (a.y + a.height));
            expect(Math.hypot(dx, dy)).toBeGreaterThanOrEqual(dot.r);
          }
        }
        expect(new Set(placed.map((label) => label.id)).size).toBe(placed.length);
      }),
      { numRuns: 150 },
    );
  });

  it("tries the right of the dot first, then the left, and places in the order given", () => {
    const alone = placeLabels([{ id: 7, x: 400, y: 200, r: 10, width: 120, height: 16 }], viewport);
    expect(alone[0]?.x).toBeGreaterThan(400 + 10);
    const requests: LabelRequest[] = [
      { id: 7, x: 400, y: 200, r: 10, width: 120, height: 16 },
      { id: 3, x: 430, y: 200, r: 4, width: 120, height: 16 },
    ];
    const placed = placeLabels(requests, viewport);
    expect(placed.map((label) => label.id)).toEqual([7, 3]);
    // The other dot is on its right: the label goes left.
    expect((placed[0]?.x ?? 0) + 120).toBeLessThanOrEqual(400 - 10);
  });

  it("leaves out a label with no room on screen", () => {
    const placed = placeLabels([{ id: 1, x: 5, y: 5, r: 4, width: 2000, height: 16 }], viewport);
    expect(placed).toEqual([]);
  });

  it("uses map.png's placement: right, left, the diagonals, above, below; a ring further out", () => {
    const [right, left, upRight, , , , above, below] = labelPositions(100, 100, 10, 40, 16);
    expect(right).toEqual({ x: 110, y: 92, width: 40, height: 16 });
    expect(left).toEqual({ x: 50, y: 92, width: 40, height: 16 });
    expect(upRight?.x).toBeCloseTo(100 + 10 * Math.SQRT1_2);
    expect(above).toEqual({ x: 80, y: 74, width: 40, height: 16 });
    expect(below).toEqual({ x: 80, y: 110, width: 40, height: 16 });
    // Beside the dot taken by a first label, the same label a ring out goes on the right.
    const area = { x: 0, y: 0, width: 900, height: 500 };
    const board = new LabelBoard([{ id: 1, x: 400, y: 200, r: 5 }], area, 3);
    const dot = { id: 1, x: 400, y: 200, r: 5 };
    expect(board.place(dot, 60, 16)?.x).toBe(408);
    expect(board.place(dot, 60, 16, 80)?.x).toBe(488);
  });

  // Its speed is measured in bench/site.bench.ts (npm run bench:site), not asserted here.
  it("places the labels of hundreds of clusters without overlap", () => {
    const requests: LabelRequest[] = Array.from({ length: 400 }, (_, id) => ({
      id,
      x: (id * 137) % 900,
      y: (id * 71) % 500,
      r: 4,
      width: 110,
      height: 16,
    }));
    const placed = placeLabels(requests, viewport);
    expect(placed.length).toBeGreaterThan(0);
    for (const [i, a] of placed.entries()) {
      for (const b of placed.slice(i + 1)) {
        const apart =
          a.x + a.width <= b.x ||
          b.x + b.width <= a.x ||
          a.y + a.height <= b.y ||
          b.y + b.height <= a.y;
        expect(apart, `labels ${a.id} and ${b.id} overlap`).toBe(true);
      }
    }
  });
});

describe("hit testing for the tooltip", () => {
  const square = (x0: number, y0: number, size: number) =>
    Float32Array.from([x0, y0, x0 + size, y0, x0 + size, y0 + size, x0, y0 + size]);
  const view: View = { k: 2, x: 10, y: 20 };
  const targets: HitTarget[] = [
    { id: 0, dot: { x: 110, y: 120, r: 8 }, hull: { rings: [square(0, 0, 200)], area: 40_000 } },
    { id: 1, dot: { x: 300, y: 300, r: 4 }, hull: { rings: [square(40, 40, 20)], area: 400 } },
    { id: 2, dot: null, hull: null },
  ];

  it("finds a dot within a few pixels of its edge first", () => {
    expect(hitTest(targets, view, 115, 121)).toBe(0);
    expect(hitTest(targets, view, 300 + 4 + 3, 300)).toBe(1);
  });

  it("otherwise the smallest hull holding the point", () => {
    // World (50, 50) is inside both squares; on screen that is (110, 120)... move off the dot.
    const [sx, sy] = toScreen(view, 45, 55);
    expect(hitTest(targets, view, sx, sy)).toBe(1);
    const [ox, oy] = toScreen(view, 150, 150);
    expect(hitTest(targets, view, ox, oy)).toBe(0);
    const [nx, ny] = toScreen(view, 500, 500);
    expect(hitTest(targets, view, nx, ny)).toBeNull();
  });

  it("tests points against rings even-odd", () => {
    expect(pointInRings(5, 5, [square(0, 0, 10)])).toBe(true);
    expect(pointInRings(5, 5, [square(0, 0, 10), square(2, 2, 6)])).toBe(false);
    expect(pointInRings(15, 5, [square(0, 0, 10)])).toBe(false);
  });

  it("keeps the tooltip inside the map", () => {
    expect(tooltipPosition(100, 100, { width: 200, height: 80 }, viewport)).toEqual({
      left: 114,
      top: 114,
    });
    const flipped = tooltipPosition(880, 480, { width: 200, height: 80 }, viewport);
    expect(flipped.left + 200).toBeLessThanOrEqual(viewport.width);
    expect(flipped.top + 80).toBeLessThanOrEqual(viewport.height);
  });

  it("sizes dots by the square root of RSVPs, as map.png", () => {
    expect(dotRadius(0, 100)).toBe(3);
    expect(dotRadius(100, 100)).toBe(14);
    expect(dotRadius(25, 100)).toBeCloseTo(8.5);
  });
});

describe("map geometry", () => {
  const require = createRequire(import.meta.url);
  const topology = require("world-atlas/countries-110m.json") as WorldTopology;
  const projection = worldProjection();

  it("projects the world 1000 units wide, the first view from 56°S to 84°N", () => {
    const frame = viewFrameBounds(projection);
    expect(frame.x0).toBeCloseTo(0, 3);
    expect(frame.x1).toBeCloseTo(WORLD_WIDTH, 3);
    expect(frame.y1 - frame.y0).toBeGreaterThan(350);
    expect(frame.y1 - frame.y0).toBeLessThan(550);
  });

  it("projects a world-atlas basemap into closed land rings and border lines", () => {
    expect(isWorldTopology(topology)).toBe(true);
    expect(isWorldTopology({ type: "Topology", arcs: [], objects: {} })).toBe(false);
    const basemap = projectBasemap(projection, topology);
    expect(basemap.land.rings.length).toBeGreaterThan(100);
    expect(basemap.land.closed.every(Boolean)).toBe(true);
    expect(basemap.borders.rings.length).toBeGreaterThan(50);
    expect(basemap.borders.closed.some(Boolean)).toBe(false);
    const sphere = shapeBounds(basemap.sphere);
    expect(sphere?.x0).toBeCloseTo(0, 1);
    expect(sphere?.x1).toBeCloseTo(WORLD_WIDTH, 1);
  });

  it("projects clusters from buildClusters: centroids, hulls, and bounds holding both", () => {
    const venues: Venue[] = [];
    let id = 0;
    const around = (lat: number, lon: number, rsvps: number) => {
      for (let i = 0; i < 12; i++) {
        venues.push({
          id: id++,
          name: null,
          position: { lat: lat + ((i % 4) - 1.5) * 0.2, lon: lon + (Math.floor(i / 4) - 1) * 0.2 },
          firstSeen: 0,
          lastSeen: 0,
          rsvpCount: rsvps,
          yesCount: rsvps,
          topics: [{ key: "tech", name: "</script><b>Tech</b>" }],
        });
      }
    };
    around(37.77, -122.42, 5);
    around(51.5, -0.12, 3);
    around(-17.5, 179.9, 2);
    const document = buildClusters(venues, [], { kMin: 3, kMax: 3, seed: 1 });
    const shapes = projectClusters(projection, document.clusters);
    expect(shapes).toHaveLength(3);
    for (const shape of shapes) {
      expect(shape.at).not.toBeNull();
      expect(shape.hull?.rings.length).toBeGreaterThan(0);
      expect(shape.hullArea).toBeGreaterThan(0);
      const [x, y] = shape.at as [number, number];
      const b = shape.bounds;
      expect(b).not.toBeNull();
      if (!b) continue;
      expect(x).toBeGreaterThanOrEqual(b.x0);
      expect(x).toBeLessThanOrEqual(b.x1);
      expect(y).toBeGreaterThanOrEqual(b.y0);
      expect(y).toBeLessThanOrEqual(b.y1);
      // A cluster hull is a small patch, not the world minus the patch.
      expect(b.x1 - b.x0).toBeLessThan(WORLD_WIDTH / 2);
      // Its centroid lies in its hull.
      expect(pointInRings(x, y, shape.hull?.rings ?? [])).toBe(true);
    }
    // Zooming to a cluster shows its hull.
    const first = shapes[0]?.bounds;
    if (first) {
      const view = fitView(first, viewport, 48);
      const [left, top] = toScreen(view, first.x0, first.y0);
      const [right, bottom] = toScreen(view, first.x1, first.y1);
      expect(left).toBeGreaterThanOrEqual(47.99);
      expect(top).toBeGreaterThanOrEqual(47.99);
      expect(right).toBeLessThanOrEqual(viewport.width - 47.99);
      expect(bottom).toBeLessThanOrEqual(viewport.height - 47.99);
    }
  });

  it("measures ring areas", () => {
    expect(Math.abs(ringArea(Float32Array.from([0, 0, 4, 0, 4, 3, 0, 3])))).toBe(12);
  });
});

describe("the batch run line", () => {
  const run = {
    range: "yesterday",
    dates: { first: "2018-05-20", last: "2018-05-26" },
    startedAt: "2026-11-27T02:00:00.000Z",
    finishedAt: "2026-11-27T02:14:09.000Z",
    durationSeconds: 849,
    counts: { venues: 10, venuesClustered: 9, venuesWithoutPosition: 1, rsvps: 42, clusters: 2 },
  };
  const clusters = {
    k: 0,
    kScores: [],
    venuesClustered: 1234,
    venuesWithoutPosition: 0,
    clusters: [],
    dates: { first: "2018-05-21", last: "2018-05-21" },
  };

  it("names the dates mapped and when the map was drawn", () => {
    expect(runLine(run, clusters)).toBe(
      "Map of 2018-05-20 – 2018-05-26 · drawn 2026-11-27 02:14 UTC",
    );
    expect(runLine(null, clusters)).toBe("Map of 2018-05-21");
    expect(runLine(null, { ...clusters, dates: { first: null, last: null } })).toBe(
      "Map of the latest batch run",
    );
    expect(dateRange({ first: null, last: "2018-05-26" })).toBe("2018-05-26");
  });

  it("pairs run.json with clusters.json only when both are of one run", () => {
    // Published by this run (render-site.ts writes run.json's startedAt into clusters.json).
    expect(runOfClusters(run, { ...clusters, runStartedAt: "2026-11-27T02:00:00Z" })).toBe(run);
    // The day before's clusters.json, still in a cache beside the new run.json: not this run's.
    expect(runOfClusters(run, { ...clusters, runStartedAt: "2026-11-26T02:00:00.000Z" })).toBe(
      null,
    );
    // Published before clusters.json named its run, or no run.json: nothing to tell apart.
    expect(runOfClusters(run, clusters)).toBe(run);
    expect(runOfClusters(null, { ...clusters, runStartedAt: run.startedAt })).toBe(null);
    // Torn, the line says what the clusters show, not the other run's drawing time.
    expect(
      runLine(runOfClusters(run, { ...clusters, runStartedAt: "2026-11-26T02:00:00Z" }), clusters),
    ).toBe("Map of 2018-05-21");
  });

  it("sums up the map", () => {
    expect(mapSummary(run, clusters)).toBe(
      "0 clusters · 0 RSVPs at 1,234 venues · batch over “yesterday” took 14 min",
    );
    expect(formatDuration(68.4)).toBe("68 s");
    expect(formatDuration(3 * 3600)).toBe("3.0 h");
  });
});
