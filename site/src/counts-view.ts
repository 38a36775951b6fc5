/**
 * The live counts panel: polls the counts API every few seconds while the page is visible,
 * and shows the top cities as a sortable table, when the counts last changed and the recent
 * rate. The logic lives in counts-model.ts and data.ts; this is the DOM around it.
 */
import type { TopCities } from "../../functions/counts-api/top-cities.js";
import {
  addSample,
  COLUMNS,
  COMMON_COUNTRIES,
  type CountsSample,
  countryName,
  DEFAULT_SORT,
  formatAgo,
  formatCount,
  formatRate,
  formatUtc,
  grownKeys,
  nextSort,
  normaliseCountry,
  ROW_CHOICES,
  rankRows,
  ratePerMinute,
  readSettings,
  type Settings,
  type SortKey,
  type SortState,
  sampleOf,
  settingsHash,
  sortRows,
} from "./counts-model.js";
import { type CountsQuery, type Fetch, loadCounts, type Outcome } from "./data.js";
import { el, replaceChildren, setText } from "./dom.js";

export const POLL_MS = 5000;
export const RETRY_MS = 10_000;
/** The API's maximum: the rate is measured over as many cities as it gives. */
const FETCH_LIMIT = 100;
const OTHER = "other";

export interface CountsElements {
  section: HTMLElement;
  periodButtons: HTMLButtonElement[];
  countrySelect: HTMLSelectElement;
  countryOther: HTMLInputElement;
  countryOtherLabel: HTMLElement;
  countryForm: HTMLFormElement;
  rowsSelect: HTMLSelectElement;
  updated: HTMLElement;
  rate: HTMLElement;
  message: HTMLElement;
  caption: HTMLElement;
  head: HTMLTableRowElement;
  body: HTMLTableSectionElement;
}

type PanelState =
  | { kind: "loading" }
  | { kind: "ok" }
  | { kind: "no-config"; message: string }
  | { kind: "failing"; message: string };

export class CountsPanel {
  private settings: Settings;
  private sort: SortState = DEFAULT_SORT;
  private base: string | null = null;
  private result: TopCities | null = null;
  private samples: CountsSample[] = [];
  private grown = new Set<string>();
  private state: PanelState = { kind: "loading" };
  private timer: ReturnType<typeof setTimeout> | null = null;
  private inFlight: AbortController | null = null;
  private generation = 0;
  private readonly headButtons = new Map<SortKey, HTMLButtonElement>();

  constructor(
    private readonly elements: CountsElements,
    private readonly options: { fetch?: Fetch; now?: () => number } = {},
  ) {
    this.settings = readSettings(location.hash);
    this.buildControls();
    this.buildHead();
    this.render();
    setInterval(() => this.renderStatus(), 1000);
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.pollNow();
      else this.stopTimer();
    });
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Starts polling `base` (config.json's countsApiUrl). */
  start(base: string): void {
    this.base = base;
    this.pollNow();
  }

  /** No usable config.json: says so, and lets the caller retry. */
  unavailable(message: string): void {
    this.state = { kind: "no-config", message };
    this.render();
  }

  // --- polling -----------------------------------------------------------------------------

  private stopTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(ms: number): void {
    this.stopTimer();
    if (document.visibilityState === "hidden") return;
    this.timer = setTimeout(() => this.pollNow(), ms);
  }

  private pollNow(): void {
    if (this.base === null) return;
    this.stopTimer();
    this.inFlight?.abort();
    const controller = new AbortController();
    this.inFlight = controller;
    const generation = this.generation;
    const query: CountsQuery = {
      country: this.settings.country,
      day: this.settings.day,
      limit: FETCH_LIMIT,
    };
    const fetchOptions = this.options.fetch
      ? { fetch: this.options.fetch, signal: controller.signal }
      : { signal: controller.signal };
    void loadCounts(this.base, query, fetchOptions).then((outcome) => {
      if (controller.signal.aborted || generation !== this.generation) return;
      this.inFlight = null;
      this.receive(outcome);
    });
  }

  private receive(outcome: Outcome<TopCities>): void {
    if (outcome.kind === "ok") {
      const sample = sampleOf(this.now(), outcome.value.cities);
      this.grown = grownKeys(this.samples.at(-1), sample);
      this.samples = addSample(this.samples, sample);
      this.result = outcome.value;
      this.state = { kind: "ok" };
      this.render();
      this.schedule(POLL_MS);
      return;
    }
    const retry = `retrying every ${RETRY_MS / 1000} s`;
    const message =
      outcome.kind === "unreachable" || outcome.kind === "missing"
        ? `Live counts unavailable: the counts API does not answer (${retry}).`
        : outcome.kind === "error" && outcome.status < 500
          ? `The counts API refused the query: ${outcome.message} (${retry}).`
          : outcome.kind === "error"
            ? `Live counts unavailable: the counts API answered with an error, ${outcome.message} (${retry}).`
            : `Live counts unavailable: the counts API's answer is not what this page expects (${outcome.message}; ${retry}).`;
    this.state = { kind: "failing", message };
    this.grown = new Set();
    this.render();
    this.schedule(RETRY_MS);
  }

  /** A new query: its counts and rate start afresh. */
  private changeSettings(change: Partial<Settings>): void {
    const next = { ...this.settings, ...change };
    const queryChanged = next.country !== this.settings.country || next.day !== this.settings.day;
    this.settings = next;
    writeSettings(next);
    if (queryChanged) {
      this.generation++;
      this.samples = [];
      this.result = null;
      this.grown = new Set();
      if (this.state.kind !== "no-config") this.state = { kind: "loading" };
      this.pollNow();
    }
    this.render();
  }

  // --- controls ----------------------------------------------------------------------------

  private buildControls(): void {
    const { periodButtons, countrySelect, countryOther, countryForm, rowsSelect } = this.elements;
    for (const button of periodButtons) {
      button.addEventListener("click", () => {
        const day = button.dataset.day === "all" ? "all" : "today";
        this.changeSettings({ day });
      });
    }

    const known = COMMON_COUNTRIES.includes(this.settings.country);
    replaceChildren(
      countrySelect,
      ...COMMON_COUNTRIES.map((code) =>
        el("option", { attrs: { value: code } }, `${countryName(code)} (${code.toUpperCase()})`),
      ),
      el("option", { attrs: { value: OTHER } }, "Other code…"),
    );
    countrySelect.value = known ? this.settings.country : OTHER;
    countryOther.value = known ? "" : this.settings.country.toUpperCase();
    this.elements.countryOtherLabel.hidden = known;
    countrySelect.addEventListener("change", () => {
      const other = countrySelect.value === OTHER;
      this.elements.countryOtherLabel.hidden = !other;
      if (other) {
        countryOther.focus();
        const typed = normaliseCountry(countryOther.value);
        if (typed) this.changeSettings({ country: typed });
      } else {
        this.changeSettings({ country: countrySelect.value });
      }
    });
    const applyOther = () => {
      const code = normaliseCountry(countryOther.value);
      countryOther.setAttribute("aria-invalid", String(code === null && countryOther.value !== ""));
      if (code) this.changeSettings({ country: code });
    };
    countryOther.addEventListener("input", () => {
      if (countryOther.value.trim().length === 2) applyOther();
      else countryOther.removeAttribute("aria-invalid");
    });
    countryOther.addEventListener("change", applyOther);
    countryForm.addEventListener("submit", (event) => {
      event.preventDefault();
      applyOther();
    });

    replaceChildren(
      rowsSelect,
      ...ROW_CHOICES.map((n) => el("option", { attrs: { value: n } }, `Top ${n}`)),
    );
    rowsSelect.value = String(this.settings.rows);
    rowsSelect.addEventListener("change", () => {
      this.changeSettings({ rows: Number(rowsSelect.value) || 10 });
    });
  }

  private buildHead(): void {
    const cells = COLUMNS.map((column) => {
      const button = el(
        "button",
        { className: "sort", attrs: { type: "button" } },
        column.label,
        el("span", { className: "sort-icon", attrs: { "aria-hidden": "true" } }),
      );
      button.title = `Sort by ${column.key === "rank" ? "rank" : column.label.toLowerCase()}`;
      button.addEventListener("click", () => {
        this.sort = nextSort(this.sort, column.key);
        this.render();
      });
      this.headButtons.set(column.key, button);
      return el(
        "th",
        { className: column.numeric ? "num" : "", attrs: { scope: "col", "data-key": column.key } },
        button,
      );
    });
    replaceChildren(this.elements.head, ...cells);
  }

  // --- rendering ---------------------------------------------------------------------------

  private render(): void {
    const { section, periodButtons, caption, message } = this.elements;
    const { country, day } = this.settings;
    section.dataset.state = this.state.kind;
    for (const button of periodButtons) {
      button.setAttribute("aria-pressed", String((button.dataset.day ?? "today") === day));
    }
    const name = countryName(country);
    const when = day === "all" ? "all time" : dayCaption(this.result);
    setText(caption, `Top ${this.settings.rows} cities in ${name}, ${when}`);

    if (this.state.kind === "failing" || this.state.kind === "no-config") {
      setText(message, this.state.message);
      message.hidden = false;
    } else {
      message.hidden = true;
    }

    for (const [key, button] of this.headButtons) {
      const th = button.parentElement;
      if (!th) continue;
      if (key === this.sort.key) th.setAttribute("aria-sort", this.sort.direction);
      else th.removeAttribute("aria-sort");
    }
    this.renderRows();
    this.renderStatus();
  }

  private renderRows(): void {
    const body = this.elements.body;
    const colspan = COLUMNS.length;
    if (!this.result) {
      const text =
        this.state.kind === "loading"
          ? "Loading live counts…"
          : this.state.kind === "no-config"
            ? "No live counts: the counts API is not configured."
            : "No live counts yet.";
      replaceChildren(
        body,
        el("tr", { className: "placeholder" }, el("td", { attrs: { colspan } }, text)),
      );
      return;
    }
    const rows = rankRows(this.result.cities).slice(0, this.settings.rows);
    if (rows.length === 0) {
      const where = countryName(this.settings.country);
      const text =
        this.settings.day === "all"
          ? `No RSVPs counted in ${where} yet.`
          : `No RSVPs counted in ${where} today (UTC) yet. Try “All time”.`;
      replaceChildren(
        body,
        el("tr", { className: "placeholder" }, el("td", { attrs: { colspan } }, text)),
      );
      return;
    }
    const sorted = sortRows(rows, this.sort);
    replaceChildren(
      body,
      ...sorted.map((row) => {
        const rsvps = el("td", { className: "num strong" }, formatCount(row.rsvps));
        if (this.grown.has(row.key)) rsvps.classList.add("grew");
        const country = el("td", { className: "code" }, row.country.toUpperCase());
        country.title = countryName(row.country);
        return el(
          "tr",
          null,
          el("td", { className: "num rank" }, row.rank),
          el("th", { attrs: { scope: "row" } }, row.city),
          el("td", { className: row.state ? "" : "none" }, row.state ?? "—"),
          country,
          rsvps,
          el("td", { className: "num" }, formatCount(row.yes)),
          el("td", { className: "num" }, formatCount(row.no)),
        );
      }),
    );
    this.grown = new Set();
  }

  private renderStatus(): void {
    const { updated, rate } = this.elements;
    const result = this.result;
    if (this.state.kind === "no-config" || (!result && this.state.kind === "failing")) {
      setText(updated, "Offline");
      setText(rate, "");
      this.elements.section.dataset.live = "off";
      return;
    }
    if (!result) {
      setText(updated, "Connecting…");
      setText(rate, "");
      this.elements.section.dataset.live = "connecting";
      return;
    }
    const newest = result.updatedAt ? Date.parse(result.updatedAt) : null;
    const stale = this.state.kind === "failing" ? " (stale)" : "";
    setText(
      updated,
      newest === null
        ? `No counts yet${stale}`
        : `Updated ${formatAgo(newest, this.now())}${stale}`,
    );
    if (newest !== null) updated.title = formatUtc(newest);
    const total = `${formatCount(result.totalCities)} ${result.totalCities === 1 ? "city" : "cities"}`;
    setText(rate, `${formatRate(ratePerMinute(this.samples))} · ${total}`);
    this.elements.section.dataset.live = this.state.kind === "ok" ? "on" : "off";
  }
}

function writeSettings(settings: Settings): void {
  const hash = settingsHash(settings);
  history.replaceState(null, "", hash ? `#${hash}` : location.pathname + location.search);
}

/**
 * The caption's day for the default view: the API answers the latest day with counts, which is
 * today while the feed is live and a recording's own last day otherwise; say which.
 */
export function dayCaption(result: Pick<TopCities, "day" | "today"> | null | undefined): string {
  if (!result || result.day === "all") return "today (UTC)";
  if (result.today === undefined || result.day === result.today) return `today (${result.day} UTC)`;
  return `${result.day} (UTC), the latest day with counts`;
}
