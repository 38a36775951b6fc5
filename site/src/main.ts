/**
 * The page: the live counts panel (counts API, URL from config.json) and the cluster map
 * (clusters.json and run.json of the latest daily batch, on an offline world-atlas basemap).
 * Every file is fetched in parallel at start; each part says what it is waiting for or what is
 * wrong rather than staying blank.
 */
import type { RunDocument } from "../../functions/render-map/site-files.js";
import { CountsPanel } from "./counts-view.js";
import { fetchJson, loadClusters, loadConfig, loadRun, type Outcome } from "./data.js";
import { byId, el, setText } from "./dom.js";
import { isWorldTopology } from "./map-geometry.js";
import { ClusterMap } from "./map-view.js";
import {
  mapSummary,
  NO_BATCH_MESSAGE,
  NO_CLUSTERS_MESSAGE,
  runLine,
  runOfClusters,
} from "./run-text.js";
import type { ClustersFile } from "./validate.js";

/** How often the page looks for a newer batch run (run.json), ms. */
const RUN_CHECK_MS = 5 * 60_000;
/** How often a missing or broken config.json is read again, ms. */
const CONFIG_RETRY_MS = 30_000;

function startCounts(): void {
  const panel = new CountsPanel({
    section: byId("live"),
    periodButtons: [...byId("period").querySelectorAll<HTMLButtonElement>("button[data-day]")],
    countrySelect: byId<HTMLSelectElement>("country-select"),
    countryOther: byId<HTMLInputElement>("country-other"),
    countryOtherLabel: byId("country-other-label"),
    countryForm: byId<HTMLFormElement>("counts-controls"),
    rowsSelect: byId<HTMLSelectElement>("rows-select"),
    updated: byId("counts-updated"),
    rate: byId("counts-rate"),
    message: byId("counts-message"),
    caption: byId("counts-caption"),
    head: byId<HTMLTableRowElement>("counts-head"),
    body: byId<HTMLTableSectionElement>("counts-body"),
  });
  const configure = async () => {
    const config = await loadConfig();
    if (config.kind === "ok") {
      panel.start(config.value.countsApiUrl);
      return;
    }
    const why =
      config.kind === "missing"
        ? "config.json is missing (the deploy writes it, and so does npm start)"
        : config.kind === "invalid"
          ? `config.json is not usable (${config.message})`
          : config.kind === "unreachable"
            ? `config.json could not be read (${config.reason})`
            : `config.json could not be read (HTTP ${config.status}: ${config.message})`;
    panel.unavailable(
      `Live counts unavailable: ${why}; trying again every ${CONFIG_RETRY_MS / 1000} s.`,
    );
    setTimeout(configure, CONFIG_RETRY_MS);
  };
  void configure();
}

function startMap(): void {
  const section = byId("map");
  const message = byId("map-message");
  const summary = byId("map-summary");
  const runLineElement = byId("run-line");
  const legendSection = byId("legend-section");
  const say = (state: string, text: string | null) => {
    section.dataset.state = state;
    message.hidden = text === null;
    setText(message, text ?? "");
  };

  let map: ClusterMap;
  try {
    map = new ClusterMap({
      frame: byId("map-frame"),
      canvas: byId<HTMLCanvasElement>("map-canvas"),
      tooltip: byId("map-tooltip"),
      legend: byId("legend"),
      zoomIn: byId<HTMLButtonElement>("zoom-in"),
      zoomOut: byId<HTMLButtonElement>("zoom-out"),
      reset: byId<HTMLButtonElement>("zoom-reset"),
    });
  } catch (error) {
    // No canvas: the batch's picture instead.
    byId("map-canvas").replaceWith(
      el("img", {
        className: "map-picture",
        attrs: {
          src: "map.png",
          width: 1600,
          height: 900,
          alt: "World map of where Meetup RSVPs cluster, drawn by the daily batch.",
        },
      }),
    );
    byId("map-frame").querySelector(".map-tools")?.remove();
    say("fallback", null);
    console.warn("interactive map unavailable:", error);
    return;
  }
  map.onClustersDrawn = (at) => {
    performance.mark("map-drawn");
    section.dataset.drawnMs = String(Math.round(at));
  };

  // Said under the map, not only in a data attribute: without countries the clusters float on
  // plain ocean, and the reader should know why.
  let basemapNote = "";
  let summaryText = "";
  const showSummary = () => setText(summary, `${summaryText}${basemapNote}`.trim());
  const loadBasemap = async (resolution: "110m" | "50m") => {
    const outcome = await fetchJson(`basemap/countries-${resolution}.json`, {
      cache: "default",
      timeoutMs: 30_000,
    });
    if (outcome.kind === "ok" && isWorldTopology(outcome.value)) {
      // A slow coarse basemap never replaces a detailed one already there.
      if (resolution === "110m" && map.basemapResolution === "50m") return;
      try {
        map.setBasemap(outcome.value, resolution);
        return;
      } catch (error) {
        console.warn(`basemap ${resolution} unusable:`, error);
      }
    }
    if (resolution === "50m") {
      // The detail stays the coarse one; zooming in may ask again later.
      map.onWantDetail = () => void loadBasemap("50m");
    } else if (map.basemapResolution === null) {
      section.dataset.basemap = "missing";
      basemapNote = " The countries could not be loaded; the clusters are drawn without them.";
      showSummary();
      map.noBasemap();
    }
  };
  void loadBasemap("110m");
  map.onWantDetail = () => void loadBasemap("50m");

  let shownRun: string | null = null;
  const showBatch = (run: Outcome<RunDocument>, clusters: Outcome<ClustersFile>) => {
    const runDoc = run.kind === "ok" ? run.value : null;
    // A broken run.json costs the run's dates, not the map; say so rather than leave it out.
    const runNote =
      run.kind === "invalid" || run.kind === "error" || run.kind === "unreachable"
        ? ` (run.json could not be read: ${run.kind === "unreachable" ? run.reason : run.message})`
        : "";
    if (clusters.kind === "ok") {
      const doc = clusters.value;
      const runOfDoc = runOfClusters(runDoc, doc);
      try {
        map.setClusters(doc.clusters);
      } catch (error) {
        legendSection.hidden = true;
        setText(runLineElement, "Map unavailable");
        say(
          "error",
          `The map could not be drawn: ${error instanceof Error ? error.message : String(error)}. It is tried again in a few minutes.`,
        );
        return;
      }
      // Only a run that was drawn counts as shown, so a failed one is loaded again; and only
      // with its own clusters.json, so clusters of another run are replaced at the next look.
      shownRun = runOfDoc === runDoc ? (runDoc?.finishedAt ?? "") : null;
      setText(runLineElement, `${runLine(runOfDoc, doc)}${runNote}`);
      summaryText = mapSummary(runOfDoc, doc);
      showSummary();
      legendSection.hidden = doc.clusters.length === 0;
      say(
        doc.clusters.length === 0 ? "empty" : "ready",
        doc.clusters.length === 0 ? NO_CLUSTERS_MESSAGE : null,
      );
      return;
    }
    legendSection.hidden = true;
    summaryText = "";
    showSummary();
    if (clusters.kind === "missing") {
      setText(runLineElement, "No batch run yet");
      say("no-batch", NO_BATCH_MESSAGE);
    } else {
      setText(runLineElement, "Map unavailable");
      const why =
        clusters.kind === "unreachable"
          ? `the site does not answer (${clusters.reason})`
          : clusters.kind === "invalid"
            ? `clusters.json is not what this page expects (${clusters.message})`
            : `clusters.json: ${clusters.message}`;
      say("error", `The map could not be loaded: ${why}. It is tried again in a few minutes.`);
    }
  };

  const refresh = async (force: boolean) => {
    const [run, clusters] = await Promise.all([
      loadRun(),
      force || shownRun === null ? loadClusters() : null,
    ]);
    if (clusters) {
      showBatch(run, clusters);
      return;
    }
    // Only reload clusters.json when run.json says a newer run published it.
    if (run.kind === "ok" && run.value.finishedAt !== shownRun) {
      showBatch(run, await loadClusters());
    }
  };
  say("loading", "Loading the map…");
  void refresh(true);
  setInterval(() => {
    if (document.visibilityState === "visible") void refresh(false);
  }, RUN_CHECK_MS);
}

startCounts();
startMap();
