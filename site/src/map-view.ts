/**
 * The cluster map on a canvas: the basemap and every cluster are projected once into world
 * units (map-geometry.ts); panning and zooming only change the view (map-model.ts), and a
 * frame (map-paint.ts) is drawn on requestAnimationFrame only when something changed, its work
 * growing with the clusters, never the venues.
 *
 * Pan by dragging, zoom with the wheel, a pinch, double-click or the buttons, or use the
 * keyboard on the focused map (map-gestures.ts). Hovering or focusing a cluster (on the map or
 * in the legend) shows its tooltip; clicking zooms to it (map-details.ts).
 */
import type { GeoProjection } from "d3-geo";
import type { Cluster } from "../../functions/clustering/build-clusters.js";
import { prefersReducedMotion } from "./dom.js";
import { Legend, placeTooltip, showTooltip } from "./map-details.js";
import {
  projectBasemap,
  projectClusters,
  shapeBounds,
  viewFrameBounds,
  type WorldTopology,
  worldProjection,
} from "./map-geometry.js";
import { type GestureTarget, MapGestures, type Point } from "./map-gestures.js";
import {
  type Bounds,
  constrainView,
  fitView,
  hitTest,
  interpolateView,
  sameView,
  type View,
  type Viewport,
  type ZoomLimits,
  zoomAt,
} from "./map-model.js";
import {
  type BasemapPaths,
  basemapPaths,
  type Drawable,
  drawables,
  paintFrame,
} from "./map-paint.js";

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

export class ClusterMap implements GestureTarget {
  private readonly projection: GeoProjection = worldProjection();
  private readonly home: Bounds = viewFrameBounds(this.projection);
  private world: Bounds = this.home;
  private readonly context: CanvasRenderingContext2D;
  private readonly legend: Legend;
  private viewport: Viewport = { width: 0, height: 0 };
  private dpr = 1;
  private currentView: View = { k: 1, x: 0, y: 0 };
  private zoomLimits: ZoomLimits = { minK: 0.1, maxK: 10 };
  private moved = false;
  private basemap: BasemapPaths | null = null;
  private clusters: Drawable[] = [];
  private frameRequested = false;
  private animation: number | null = null;
  private hoverId: number | null = null;
  private focusId: number | null = null;
  private pointer: Point | null = null;
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
    this.legend = new Legend(elements.legend, {
      zoomTo: (index) => this.zoomToCluster(index),
      focus: (index) => this.focusCluster(index),
    });
    new MapGestures(elements.canvas, this);
    elements.zoomIn.addEventListener("click", () => this.zoomBy(2));
    elements.zoomOut.addEventListener("click", () => this.zoomBy(0.5));
    elements.reset.addEventListener("click", () => {
      this.focusId = null;
      this.resetView();
    });
    this.resize();
    new ResizeObserver(() => this.resize()).observe(elements.frame);
  }

  /** A world-atlas countries topology; a later, more detailed one replaces it. */
  setBasemap(topology: WorldTopology, resolution: string): void {
    const basemap = projectBasemap(this.projection, topology);
    this.basemap = basemapPaths(basemap, resolution);
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
    this.clusters = drawables(projectClusters(this.projection, clusters), this.context);
    this.hoverId = null;
    this.focusId = null;
    this.firstClusterFrame = true;
    this.legend.render(this.clusters);
    this.hideTooltip();
    this.requestFrame();
  }

  // --- view --------------------------------------------------------------------------------

  get view(): View {
    return this.currentView;
  }

  get limits(): ZoomLimits {
    return this.zoomLimits;
  }

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
    this.zoomLimits = { minK: home.k * 0.8, maxK: home.k * MAX_ZOOM };
    this.currentView = this.moved ? this.constrain(this.view) : home;
    this.requestFrame();
  }

  private constrain(view: View): View {
    return constrainView(view, this.world, this.viewport, 60);
  }

  setView(view: View): void {
    this.currentView = this.constrain(view);
    this.moved = true;
    if (this.view.k >= this.homeView().k * DETAIL_ZOOM && this.onWantDetail) {
      const want = this.onWantDetail;
      this.onWantDetail = null;
      want();
    }
    this.elements.zoomIn.disabled = this.view.k >= this.limits.maxK * 0.999;
    this.elements.zoomOut.disabled = this.view.k <= this.limits.minK * 1.001;
    this.requestFrame();
  }

  animateTo(target: View): void {
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

  stopAnimation(): void {
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
    if (this.viewport.width === 0) return;
    const { view, viewport, dpr, basemap, world, clusters } = this;
    paintFrame(this.context, {
      view,
      viewport,
      dpr,
      basemap,
      world,
      clusters,
      active: this.activeId(),
    });
    if (clusters.length > 0 && this.firstClusterFrame && (basemap || this.basemapFailed)) {
      this.firstClusterFrame = false;
      this.onClustersDrawn?.(performance.now());
    }
    this.positionTooltip();
  }

  // --- the cluster under the pointer or in focus -------------------------------------------

  private activeId(): number | null {
    return this.hoverId ?? this.focusId;
  }

  /** The cluster at a point of the map, if any: its dot, else the smallest hull there. */
  private clusterAt(p: Point): number | null {
    const { k, x, y } = this.view;
    const targets = this.clusters.map((item) => ({
      id: item.index,
      dot: item.at ? { x: item.at[0] * k + x, y: item.at[1] * k + y, r: item.radius } : null,
      hull: item.hull ? { rings: item.hull.rings, area: item.hullArea } : null,
    }));
    return hitTest(targets, this.view, p.x, p.y);
  }

  hoverAt(point: Point | null): void {
    this.pointer = point;
    this.hover(point ? this.clusterAt(point) : null);
  }

  clickAt(point: Point): void {
    const id = this.clusterAt(point);
    if (id !== null) this.zoomToCluster(id);
  }

  release(): void {
    this.focusId = null;
    this.hoverId = null;
    this.elements.canvas.classList.remove("is-over-cluster");
    this.updateTooltip();
  }

  private hover(id: number | null): void {
    this.elements.canvas.classList.toggle("is-over-cluster", id !== null);
    if (id === this.hoverId) {
      if (id !== null) this.positionTooltip();
      return;
    }
    this.hoverId = id;
    this.updateTooltip();
  }

  private focusCluster(id: number | null): void {
    this.focusId = id;
    this.updateTooltip();
  }

  /** The tooltip, the legend's mark and the frame follow the active cluster. */
  private updateTooltip(): void {
    const item = this.clusters[this.activeId() ?? -1];
    if (item) {
      showTooltip(this.elements.tooltip, item);
      this.positionTooltip();
    } else {
      this.hideTooltip();
    }
    this.legend.mark(this.activeId());
    this.requestFrame();
  }

  private hideTooltip(): void {
    this.elements.tooltip.hidden = true;
  }

  /** Beside the pointer over a cluster, else beside the dot of the cluster in focus. */
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
    placeTooltip(tooltip, anchor, this.viewport);
  }
}
