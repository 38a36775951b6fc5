/**
 * The cluster map on a canvas: the basemap and hulls are Path2D objects in world units built
 * once (map-geometry.ts), drawn through the canvas transform of the current view; dots and
 * labels are drawn in pixels so they keep their size. Frames are drawn on requestAnimationFrame
 * only when something changed, and a frame's work grows with the clusters, never the venues.
 *
 * Pan by dragging (mouse, pen, one finger), zoom with the wheel, a pinch, double-click or the
 * buttons; with the keyboard on the focused map: arrows pan, + and - zoom, 0 resets. Hovering
 * or focusing a cluster (on the map or in the legend) shows its tooltip; clicking zooms to it.
 */
import type { GeoProjection } from "d3-geo";
import type { Cluster } from "../../functions/clustering/build-clusters.js";
import { assignColours, PALETTE } from "../../functions/render-map/palette.js";
import { formatCount } from "./counts-model.js";
import { el, prefersReducedMotion, replaceChildren } from "./dom.js";
import {
  type Basemap,
  type ClusterShape,
  projectBasemap,
  projectClusters,
  type Shape,
  shapeBounds,
  viewFrameBounds,
  type WorldTopology,
  worldProjection,
} from "./map-geometry.js";
import {
  type Bounds,
  constrainView,
  dotRadius,
  fitView,
  type HitTarget,
  hitTest,
  interpolateView,
  type LabelRequest,
  panBy,
  placeLabels,
  sameView,
  tooltipPosition,
  type View,
  type Viewport,
  type ZoomLimits,
  zoomAt,
} from "./map-model.js";

/** The basemap's colours, as map.png's (functions/render-map/draw-map.ts, MAP_COLOURS). */
export const MAP_COLOURS = {
  background: "#fbfaf7",
  ocean: "#dce8f1",
  graticule: "#c8d9e6",
  land: "#f1ede4",
  coast: "#a7b9c9",
  border: "#cbc3b4",
  text: "#1f2a36",
  muted: "#5f6b78",
  halo: "rgba(255, 255, 255, 0.88)",
} as const;

const LABEL_FONT = '600 12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const LABEL_HEIGHT = 16;
/** Zooming in past this many times the first view loads the detailed (1:50m) basemap. */
export const DETAIL_ZOOM = 2;
const MAX_ZOOM = 96;

export interface MapElements {
  /** The positioned box holding the canvas and the tooltip. */
  frame: HTMLElement;
  canvas: HTMLCanvasElement;
  tooltip: HTMLElement;
  legend: HTMLElement;
  zoomIn: HTMLButtonElement;
  zoomOut: HTMLButtonElement;
  reset: HTMLButtonElement;
}

interface Drawable extends ClusterShape {
  colour: string;
  fill: string;
  hullPath: Path2D | null;
  radius: number;
  labelWidth: number;
}

function rgb(colour: { r: number; g: number; b: number }, alpha = 1): string {
  return alpha === 1
    ? `rgb(${colour.r}, ${colour.g}, ${colour.b})`
    : `rgba(${colour.r}, ${colour.g}, ${colour.b}, ${alpha})`;
}

function toPath(shape: Shape): Path2D {
  const path = new Path2D();
  shape.rings.forEach((ring, r) => {
    path.moveTo(ring[0] as number, ring[1] as number);
    for (let i = 2; i < ring.length; i += 2) path.lineTo(ring[i] as number, ring[i + 1] as number);
    if (shape.closed[r]) path.closePath();
  });
  return path;
}

interface BasemapPaths {
  resolution: string;
  sphere: Path2D;
  graticule: Path2D;
  land: Path2D;
  borders: Path2D;
}

export class ClusterMap {
  private readonly projection: GeoProjection = worldProjection();
  private readonly home: Bounds = viewFrameBounds(this.projection);
  private world: Bounds = this.home;
  private readonly context: CanvasRenderingContext2D;
  private viewport: Viewport = { width: 0, height: 0 };
  private dpr = 1;
  private view: View = { k: 1, x: 0, y: 0 };
  private limits: ZoomLimits = { minK: 0.1, maxK: 10 };
  private moved = false;
  private basemap: BasemapPaths | null = null;
  private clusters: Drawable[] = [];
  private frameRequested = false;
  private animation: number | null = null;
  private hoverId: number | null = null;
  private focusId: number | null = null;
  private pointer: { x: number; y: number } | null = null;
  private readonly pointers = new Map<number, { x: number; y: number }>();
  private gesture: {
    startX: number;
    startY: number;
    startTime: number;
    dragged: boolean;
    pinchDistance?: number;
  } | null = null;
  private readonly legendButtons = new Map<number, HTMLButtonElement>();
  private firstClusterFrame = true;
  private basemapFailed = false;

  /** Called once when the view is zoomed in far enough to want the detailed basemap. */
  onWantDetail: (() => void) | null = null;
  /**
   * Called after the first frame with the clusters on the basemap (or on plain ocean, when the
   * basemap could not be loaded), with its time (performance.now()).
   */
  onClustersDrawn: ((at: number) => void) | null = null;

  constructor(private readonly elements: MapElements) {
    const context = elements.canvas.getContext("2d", { alpha: false });
    if (!context) throw new Error("this browser has no 2D canvas");
    this.context = context;
    this.listen();
    this.resize();
    new ResizeObserver(() => this.resize()).observe(elements.frame);
  }

  /** A world-atlas countries topology; a later, more detailed one replaces it. */
  setBasemap(topology: WorldTopology, resolution: string): void {
    const basemap: Basemap = projectBasemap(this.projection, topology);
    this.basemap = {
      resolution,
      sphere: toPath(basemap.sphere),
      graticule: toPath(basemap.graticule),
      land: toPath(basemap.land),
      borders: toPath(basemap.borders),
    };
    const sphere = shapeBounds(basemap.sphere);
    if (sphere) this.world = sphere;
    this.requestFrame();
  }

  /** The basemap could not be loaded: the clusters are drawn on plain ocean. */
  noBasemap(): void {
    this.basemapFailed = true;
    this.requestFrame();
  }

  get basemapResolution(): string | null {
    return this.basemap?.resolution ?? null;
  }

  /** The clusters of clusters.json, largest first; colours as map.png assigns them. */
  setClusters(clusters: readonly Cluster[]): void {
    const colours = assignColours(clusters.map((cluster) => cluster.centroid));
    const maxRsvps = Math.max(1, ...clusters.map((cluster) => cluster.rsvps));
    this.context.font = LABEL_FONT;
    this.clusters = projectClusters(this.projection, clusters).map((shape, i) => {
      const colour = PALETTE[colours[i] as number] ?? { r: 90, g: 100, b: 110 };
      return {
        ...shape,
        colour: rgb(colour),
        fill: rgb(colour, 0.28),
        hullPath: shape.hull ? toPath(shape.hull) : null,
        radius: dotRadius(shape.cluster.rsvps, maxRsvps),
        labelWidth: this.context.measureText(shape.cluster.label).width + 4,
      };
    });
    this.hoverId = null;
    this.focusId = null;
    this.firstClusterFrame = true;
    this.renderLegend();
    this.hideTooltip();
    this.requestFrame();
  }

  // --- view --------------------------------------------------------------------------------

  private homeView(): View {
    return fitView(this.home, this.viewport, 12);
  }

  private resize(): void {
    const { width, height } = this.elements.frame.getBoundingClientRect();
    if (width < 1 || height < 1) return;
    this.viewport = { width, height };
    this.dpr = Math.min(window.devicePixelRatio || 1, 3);
    const canvas = this.elements.canvas;
    canvas.width = Math.round(width * this.dpr);
    canvas.height = Math.round(height * this.dpr);
    const home = this.homeView();
    this.limits = { minK: home.k * 0.8, maxK: home.k * MAX_ZOOM };
    this.view = this.moved ? this.constrain(this.view) : home;
    this.requestFrame();
  }

  private constrain(view: View): View {
    return constrainView(view, this.world, this.viewport, 60);
  }

  private setView(view: View): void {
    this.view = this.constrain(view);
    this.moved = true;
    if (this.view.k >= this.homeView().k * DETAIL_ZOOM && this.onWantDetail) {
      const want = this.onWantDetail;
      this.onWantDetail = null;
      want();
    }
    this.updateZoomButtons();
    this.requestFrame();
  }

  private updateZoomButtons(): void {
    this.elements.zoomIn.disabled = this.view.k >= this.limits.maxK * 0.999;
    this.elements.zoomOut.disabled = this.view.k <= this.limits.minK * 1.001;
  }

  private animateTo(target: View): void {
    this.stopAnimation();
    const to = this.constrain(target);
    if (prefersReducedMotion() || sameView(this.view, to)) {
      this.setView(to);
      return;
    }
    const from = this.view;
    const start = performance.now();
    const duration = 420;
    const step = (now: number) => {
      const t = Math.min(1, (now - start) / duration);
      this.setView(interpolateView(from, to, t, this.viewport));
      this.animation = t < 1 ? requestAnimationFrame(step) : null;
    };
    this.animation = requestAnimationFrame(step);
  }

  private stopAnimation(): void {
    if (this.animation !== null) cancelAnimationFrame(this.animation);
    this.animation = null;
  }

  zoomBy(factor: number): void {
    const { width, height } = this.viewport;
    this.animateTo(zoomAt(this.view, factor, width / 2, height / 2, this.limits));
  }

  resetView(): void {
    this.animateTo(this.homeView());
  }

  zoomToCluster(index: number): void {
    const item = this.clusters[index];
    if (!item?.bounds) return;
    const { x0, y0, x1, y1 } = item.bounds;
    // At least ~4 degrees across, so a one-venue cluster is not a dot in the void.
    const min = 8;
    const cx = (x0 + x1) / 2;
    const cy = (y0 + y1) / 2;
    const half = { x: Math.max((x1 - x0) / 2, min), y: Math.max((y1 - y0) / 2, min) };
    const target = fitView(
      { x0: cx - half.x, y0: cy - half.y, x1: cx + half.x, y1: cy + half.y },
      this.viewport,
      48,
      this.limits.maxK,
    );
    this.focusCluster(index);
    this.animateTo(target);
  }

  // --- drawing -----------------------------------------------------------------------------

  requestFrame(): void {
    if (this.frameRequested) return;
    this.frameRequested = true;
    requestAnimationFrame(() => {
      this.frameRequested = false;
      this.draw();
    });
  }

  private draw(): void {
    const ctx = this.context;
    const { k, x, y } = this.view;
    const dpr = this.dpr;
    const { width, height } = this.viewport;
    if (width === 0) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = MAP_COLOURS.background;
    ctx.fillRect(0, 0, width, height);

    ctx.setTransform(dpr * k, 0, 0, dpr * k, dpr * x, dpr * y);
    ctx.lineJoin = "round";
    ctx.lineCap = "round";
    const basemap = this.basemap;
    if (basemap) {
      ctx.fillStyle = MAP_COLOURS.ocean;
      ctx.fill(basemap.sphere);
      ctx.strokeStyle = MAP_COLOURS.graticule;
      ctx.lineWidth = 0.8 / k;
      ctx.stroke(basemap.graticule);
      ctx.fillStyle = MAP_COLOURS.land;
      ctx.fill(basemap.land);
      ctx.strokeStyle = MAP_COLOURS.border;
      ctx.lineWidth = 0.7 / k;
      ctx.stroke(basemap.borders);
      ctx.strokeStyle = MAP_COLOURS.coast;
      ctx.stroke(basemap.land);
    } else {
      ctx.fillStyle = MAP_COLOURS.ocean;
      const w = this.world;
      ctx.fillRect(w.x0, w.y0, w.x1 - w.x0, w.y1 - w.y0);
    }

    const active = this.activeId();
    // Hulls, largest cluster first so that smaller ones stay on top.
    for (const item of this.clusters) {
      if (!item.hullPath) continue;
      const isActive = item.index === active;
      ctx.globalAlpha = active === null || isActive ? 1 : 0.55;
      ctx.fillStyle = item.fill;
      ctx.fill(item.hullPath);
      ctx.strokeStyle = item.colour;
      ctx.lineWidth = (isActive ? 2.6 : 1.3) / k;
      ctx.stroke(item.hullPath);
    }
    ctx.globalAlpha = 1;

    // Dots and labels in pixels.
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const requests: LabelRequest[] = [];
    for (const item of this.clusters) {
      if (!item.at) continue;
      const sx = item.at[0] * k + x;
      const sy = item.at[1] * k + y;
      if (sx < -20 || sy < -20 || sx > width + 20 || sy > height + 20) continue;
      const isActive = item.index === active;
      ctx.globalAlpha = active === null || isActive ? 1 : 0.6;
      ctx.beginPath();
      ctx.arc(sx, sy, item.radius, 0, 2 * Math.PI);
      ctx.fillStyle = item.colour;
      ctx.fill();
      ctx.lineWidth = isActive ? 2.5 : 1.5;
      ctx.strokeStyle = isActive ? MAP_COLOURS.text : "rgba(255, 255, 255, 0.95)";
      ctx.stroke();
      requests.push({
        id: item.index,
        x: sx,
        y: sy,
        r: item.radius,
        width: item.labelWidth,
        height: LABEL_HEIGHT,
      });
    }
    ctx.globalAlpha = 1;
    // The active cluster's label first, so it always shows.
    if (active !== null) {
      const i = requests.findIndex((request) => request.id === active);
      if (i > 0) requests.unshift(...requests.splice(i, 1));
    }
    ctx.font = LABEL_FONT;
    ctx.textBaseline = "middle";
    ctx.lineWidth = 3.5;
    ctx.strokeStyle = MAP_COLOURS.halo;
    ctx.fillStyle = MAP_COLOURS.text;
    for (const label of placeLabels(requests, this.viewport)) {
      const text = this.clusters[label.id]?.cluster.label ?? "";
      const tx = label.x + 2;
      const ty = label.y + label.height / 2 + 0.5;
      ctx.strokeText(text, tx, ty);
      ctx.fillText(text, tx, ty);
    }

    if (this.clusters.length > 0 && this.firstClusterFrame && (basemap || this.basemapFailed)) {
      this.firstClusterFrame = false;
      this.onClustersDrawn?.(performance.now());
    }
    this.positionTooltip();
  }

  // --- interaction -------------------------------------------------------------------------

  private activeId(): number | null {
    return this.hoverId ?? this.focusId;
  }

  private hitTargets(): HitTarget[] {
    const { k, x, y } = this.view;
    return this.clusters.map((item) => ({
      id: item.index,
      dot: item.at ? { x: item.at[0] * k + x, y: item.at[1] * k + y, r: item.radius } : null,
      hull: item.hull ? { rings: item.hull.rings, area: item.hullArea } : null,
    }));
  }

  private localPoint(event: PointerEvent | WheelEvent | MouseEvent): { x: number; y: number } {
    const rect = this.elements.canvas.getBoundingClientRect();
    return { x: event.clientX - rect.left, y: event.clientY - rect.top };
  }

  private listen(): void {
    const { canvas, zoomIn, zoomOut, reset } = this.elements;
    zoomIn.addEventListener("click", () => this.zoomBy(2));
    zoomOut.addEventListener("click", () => this.zoomBy(0.5));
    reset.addEventListener("click", () => {
      this.focusId = null;
      this.resetView();
    });

    canvas.addEventListener(
      "wheel",
      (event) => {
        event.preventDefault();
        this.stopAnimation();
        const unit = event.deltaMode === 1 ? 0.05 : event.deltaMode === 2 ? 1 : 0.0025;
        const factor = 2 ** (-event.deltaY * unit);
        const p = this.localPoint(event);
        this.setView(zoomAt(this.view, factor, p.x, p.y, this.limits));
      },
      { passive: false },
    );

    canvas.addEventListener("pointerdown", (event) => {
      if (event.button !== 0 && event.pointerType === "mouse") return;
      this.stopAnimation();
      canvas.setPointerCapture(event.pointerId);
      const p = this.localPoint(event);
      this.pointers.set(event.pointerId, p);
      if (this.pointers.size === 1) {
        this.gesture = { startX: p.x, startY: p.y, startTime: performance.now(), dragged: false };
      } else if (this.pointers.size === 2 && this.gesture) {
        this.gesture.dragged = true;
        this.gesture.pinchDistance = this.pinchDistance();
      }
    });

    canvas.addEventListener("pointermove", (event) => {
      const p = this.localPoint(event);
      const previous = this.pointers.get(event.pointerId);
      if (!previous || !this.gesture) {
        this.pointer = p;
        this.hover(hitTest(this.hitTargets(), this.view, p.x, p.y));
        return;
      }
      if (this.pointers.size >= 2) {
        const before = this.midpoint();
        this.pointers.set(event.pointerId, p);
        const after = this.midpoint();
        const distance = this.pinchDistance();
        const factor = this.gesture.pinchDistance ? distance / this.gesture.pinchDistance : 1;
        this.gesture.pinchDistance = distance;
        const panned = panBy(this.view, after.x - before.x, after.y - before.y);
        this.setView(zoomAt(panned, factor, after.x, after.y, this.limits));
        return;
      }
      this.pointers.set(event.pointerId, p);
      if (
        !this.gesture.dragged &&
        Math.hypot(p.x - this.gesture.startX, p.y - this.gesture.startY) > 4
      ) {
        this.gesture.dragged = true;
        canvas.classList.add("is-dragging");
        this.hover(null);
      }
      if (this.gesture.dragged) this.setView(panBy(this.view, p.x - previous.x, p.y - previous.y));
    });

    const end = (event: PointerEvent) => {
      if (!this.pointers.delete(event.pointerId)) return;
      if (this.pointers.size > 0) return;
      const gesture = this.gesture;
      this.gesture = null;
      canvas.classList.remove("is-dragging");
      if (event.type === "pointerup" && gesture && !gesture.dragged) {
        const p = this.localPoint(event);
        const id = hitTest(this.hitTargets(), this.view, p.x, p.y);
        if (id !== null) this.zoomToCluster(id);
      }
    };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    canvas.addEventListener("pointerleave", (event) => {
      if (event.pointerType === "mouse" && this.pointers.size === 0) {
        this.pointer = null;
        this.hover(null);
      }
    });

    canvas.addEventListener("dblclick", (event) => {
      event.preventDefault();
      const p = this.localPoint(event);
      this.animateTo(zoomAt(this.view, event.shiftKey ? 0.5 : 2, p.x, p.y, this.limits));
    });

    canvas.addEventListener("keydown", (event) => {
      const step = event.shiftKey ? 240 : 60;
      const moves: Record<string, () => void> = {
        ArrowLeft: () => this.setView(panBy(this.view, step, 0)),
        ArrowRight: () => this.setView(panBy(this.view, -step, 0)),
        ArrowUp: () => this.setView(panBy(this.view, 0, step)),
        ArrowDown: () => this.setView(panBy(this.view, 0, -step)),
        "+": () => this.zoomBy(2),
        "=": () => this.zoomBy(2),
        "-": () => this.zoomBy(0.5),
        _: () => this.zoomBy(0.5),
        "0": () => this.resetView(),
        Home: () => this.resetView(),
        Escape: () => {
          this.focusId = null;
          this.hover(null);
        },
      };
      const move = moves[event.key];
      if (!move || event.altKey || event.ctrlKey || event.metaKey) return;
      event.preventDefault();
      this.stopAnimation();
      move();
    });
  }

  private midpoint(): { x: number; y: number } {
    const [a, b] = [...this.pointers.values()];
    if (!a || !b) return a ?? { x: 0, y: 0 };
    return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
  }

  private pinchDistance(): number {
    const [a, b] = [...this.pointers.values()];
    return a && b ? Math.hypot(a.x - b.x, a.y - b.y) : 0;
  }

  private hover(id: number | null): void {
    this.elements.canvas.classList.toggle("is-over-cluster", id !== null);
    if (id === this.hoverId) {
      if (id !== null) this.positionTooltip();
      return;
    }
    this.hoverId = id;
    this.showTooltip(this.activeId());
    this.markLegend();
    this.requestFrame();
  }

  /** The legend entry of the cluster under the pointer or in focus stands out too. */
  private markLegend(): void {
    const active = this.activeId();
    for (const [index, button] of this.legendButtons) {
      button.classList.toggle("is-active", index === active);
    }
  }

  private focusCluster(id: number | null): void {
    this.focusId = id;
    if (this.hoverId === null) this.showTooltip(id);
    this.markLegend();
    this.requestFrame();
  }

  // --- tooltip and legend ------------------------------------------------------------------

  private showTooltip(id: number | null): void {
    const item = id === null ? undefined : this.clusters[id];
    const tooltip = this.elements.tooltip;
    if (!item) {
      this.hideTooltip();
      return;
    }
    const cluster = item.cluster;
    const swatch = el("span", { className: "swatch", attrs: { "aria-hidden": "true" } });
    swatch.style.backgroundColor = item.colour;
    const topics = cluster.topTopics.slice(0, 5).map((topic) => topic.name);
    replaceChildren(
      tooltip,
      el("p", { className: "tooltip-title" }, swatch, cluster.label),
      el(
        "p",
        { className: "tooltip-stats" },
        `${formatCount(cluster.rsvps)} RSVPs · ${formatCount(cluster.venues)} ${
          cluster.venues === 1 ? "venue" : "venues"
        }`,
        cluster.radiusKm > 0 ? ` · half within ${formatKm(cluster.radiusKm)}` : "",
      ),
      topics.length > 0
        ? el(
            "div",
            { className: "tooltip-topics" },
            el("span", { className: "tooltip-caption" }, "Top topics"),
            el("ul", null, ...topics.map((name) => el("li", null, name))),
          )
        : null,
    );
    tooltip.hidden = false;
    this.positionTooltip();
  }

  private hideTooltip(): void {
    this.elements.tooltip.hidden = true;
  }

  private positionTooltip(): void {
    const tooltip = this.elements.tooltip;
    const id = this.activeId();
    if (tooltip.hidden || id === null) return;
    let anchor = this.hoverId !== null ? this.pointer : null;
    if (!anchor) {
      const at = this.clusters[id]?.at;
      if (!at) return;
      anchor = { x: at[0] * this.view.k + this.view.x, y: at[1] * this.view.k + this.view.y };
    }
    const size = { width: tooltip.offsetWidth, height: tooltip.offsetHeight };
    const { left, top } = tooltipPosition(anchor.x, anchor.y, size, this.viewport);
    tooltip.style.transform = `translate(${Math.round(left)}px, ${Math.round(top)}px)`;
  }

  private renderLegend(): void {
    const legend = this.elements.legend;
    this.legendButtons.clear();
    const items = this.clusters.map((item) => {
      const swatch = el("span", { className: "swatch", attrs: { "aria-hidden": "true" } });
      swatch.style.backgroundColor = item.colour;
      const button = el(
        "button",
        { className: "legend-item", attrs: { type: "button" } },
        el(
          "span",
          { className: "legend-number", attrs: { "aria-hidden": "true" } },
          item.index + 1,
        ),
        swatch,
        el("span", { className: "legend-label" }, item.cluster.label),
        el("span", { className: "legend-count" }, formatCount(item.cluster.rsvps)),
      );
      button.setAttribute(
        "aria-label",
        `${item.cluster.label}: ${formatCount(item.cluster.rsvps)} RSVPs. Zoom to it`,
      );
      const index = item.index;
      button.addEventListener("click", () => this.zoomToCluster(index));
      button.addEventListener("focus", () => this.focusCluster(index));
      button.addEventListener("blur", () => this.focusCluster(null));
      button.addEventListener("mouseenter", () => this.focusCluster(index));
      button.addEventListener("mouseleave", () => {
        if (document.activeElement !== button) this.focusCluster(null);
      });
      this.legendButtons.set(index, button);
      return el("li", null, button);
    });
    replaceChildren(legend, ...items);
  }
}

function formatKm(km: number): string {
  return km < 10 ? `${km.toFixed(1)} km` : `${formatCount(Math.round(km))} km`;
}
