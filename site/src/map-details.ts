/**
 * What the map says about its clusters in HTML, beside the canvas: the tooltip of the cluster
 * under the pointer or in focus, and the legend, a button per cluster (focus or hover shows
 * its tooltip, a click zooms to it). All text goes in as text (dom.ts).
 */
import type { Cluster } from "../../functions/clustering/build-clusters.js";
import { formatCount } from "./counts-model.js";
import { el, replaceChildren } from "./dom.js";
import { tooltipPosition, type Viewport } from "./map-model.js";

/** A cluster as the legend and the tooltip show it. */
export interface ClusterEntry {
  cluster: Cluster;
  /** In clusters.json, from 0: the legend shows it plus one. */
  index: number;
  /** CSS colour of its swatch. */
  colour: string;
}

function swatch(colour: string): HTMLElement {
  const element = el("span", { className: "swatch", attrs: { "aria-hidden": "true" } });
  element.style.backgroundColor = colour;
  return element;
}

function formatKm(km: number): string {
  return km < 10 ? `${km.toFixed(1)} km` : `${formatCount(Math.round(km))} km`;
}

/** Fills the tooltip with a cluster's name, size and top topics, and shows it. */
export function showTooltip(tooltip: HTMLElement, entry: ClusterEntry): void {
  const { cluster } = entry;
  const topics = cluster.topTopics.slice(0, 5).map((topic) => topic.name);
  const venues = `${formatCount(cluster.venues)} ${cluster.venues === 1 ? "venue" : "venues"}`;
  replaceChildren(
    tooltip,
    el("p", { className: "tooltip-title" }, swatch(entry.colour), cluster.label),
    el(
      "p",
      { className: "tooltip-stats" },
      `${formatCount(cluster.rsvps)} RSVPs · ${venues}`,
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
}

/** Moves a shown tooltip next to `anchor` (px in the map), inside the viewport. */
export function placeTooltip(
  tooltip: HTMLElement,
  anchor: { x: number; y: number },
  viewport: Viewport,
): void {
  const size = { width: tooltip.offsetWidth, height: tooltip.offsetHeight };
  const { left, top } = tooltipPosition(anchor.x, anchor.y, size, viewport);
  tooltip.style.transform = `translate(${Math.round(left)}px, ${Math.round(top)}px)`;
}

export interface LegendActions {
  zoomTo(index: number): void;
  /** A legend entry took (index) or lost (null) the focus or the pointer. */
  focus(index: number | null): void;
}

/** A button per cluster in `legend`, largest first; its buttons by cluster index. */
export class Legend {
  private readonly buttons = new Map<number, HTMLButtonElement>();

  constructor(
    private readonly legend: HTMLElement,
    private readonly actions: LegendActions,
  ) {}

  render(entries: readonly ClusterEntry[]): void {
    this.buttons.clear();
    replaceChildren(this.legend, ...entries.map((entry) => el("li", null, this.button(entry))));
  }

  /** The entry of the cluster under the pointer or in focus stands out. */
  mark(active: number | null): void {
    for (const [index, button] of this.buttons) {
      button.classList.toggle("is-active", index === active);
    }
  }

  private button({ cluster, index, colour }: ClusterEntry): HTMLButtonElement {
    const rsvps = formatCount(cluster.rsvps);
    const button = el(
      "button",
      { className: "legend-item", attrs: { type: "button" } },
      el("span", { className: "legend-number", attrs: { "aria-hidden": "true" } }, index + 1),
      swatch(colour),
      el("span", { className: "legend-label" }, cluster.label),
      el("span", { className: "legend-count" }, rsvps),
    );
    button.setAttribute("aria-label", `${cluster.label}: ${rsvps} RSVPs. Zoom to it`);
    const { actions } = this;
    button.addEventListener("click", () => actions.zoomTo(index));
    button.addEventListener("focus", () => actions.focus(index));
    button.addEventListener("blur", () => actions.focus(null));
    button.addEventListener("mouseenter", () => actions.focus(index));
    button.addEventListener("mouseleave", () => {
      if (document.activeElement !== button) actions.focus(null);
    });
    this.buttons.set(index, button);
    return button;
  }
}
