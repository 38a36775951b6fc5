/**
 * The "top US" part of `npm start`'s progress line: the all-time top US cities (the website's
 * default view), asked of the counts table every few seconds through the counts API's own query.
 *
 * A poll can fail (moto busy with the daily batch, a throttled table): the line keeps the last
 * answer, the next poll retries. Every failure goes to the run's log file (a structured WARN:
 * expected and retried, not an ERROR); when failures persist, the terminal gets one line
 * saying so, and one more when the table answers again.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { queryTopCities } from "../../functions/counts-api/top-cities.js";

export interface LabelledCity {
  /** "City, ST" (the country when there is no state). */
  label: string;
  rsvps: number;
}

/** The all-time top `limit` US cities, labelled for the terminal. */
export async function topUsCities(
  dynamodb: DynamoDBClient,
  tableName: string,
  limit: number,
): Promise<LabelledCity[]> {
  const top = await queryTopCities(dynamodb, tableName, { country: "us", day: "all", limit });
  return top.cities.map((city) => ({
    label: `${city.city}, ${city.state ?? city.country}`,
    rsvps: city.rsvps,
  }));
}

/** "New York City, NY 12, Chicago, IL 7". */
export const describeCities = (cities: readonly LabelledCity[]): string =>
  cities.map((city) => `${city.label} ${city.rsvps}`).join(", ");

export interface TopCitiesPollerOptions {
  /** One poll: the cities to show. */
  query: () => Promise<LabelledCity[]>;
  /** Pause between the end of one poll and the next (and before the first). */
  everyMs: number;
  /** The run's structured log (its file): every failed poll, and the recovery. */
  log: {
    warn: (message: string, attributes: Record<string, unknown>) => void;
    info: (message: string, attributes: Record<string, unknown>) => void;
  };
  /** One line for the person at the terminal. */
  notice: (line: string) => void;
  /** Failed polls in a row after which the terminal is told. */
  noticeAfter: number;
}

export class TopCitiesPoller {
  /** The latest answer, described; "" until the first. */
  text = "";
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private failures = 0;

  constructor(private readonly options: TopCitiesPollerOptions) {}

  start(): void {
    this.stopped = false;
    this.next();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** One poll, now; resolves when it has been taken in. */
  async poll(): Promise<void> {
    const { query, log, notice, noticeAfter, everyMs } = this.options;
    try {
      this.text = describeCities(await query());
      if (this.failures > 0) {
        log.info("top cities poll answered again", { failedPolls: this.failures });
        if (this.failures >= noticeAfter) notice("top US cities: the counts table answers again");
        this.failures = 0;
      }
    } catch (error) {
      this.failures += 1;
      const message = (error as Error).message;
      log.warn("top cities poll failed; retrying", {
        error: message,
        failedPolls: this.failures,
        retryInMs: everyMs,
      });
      if (this.failures === noticeAfter)
        notice(
          `top US cities: the counts table has not answered ${noticeAfter} polls in a row (${message}); retrying every ${everyMs / 1000} s, the progress line keeps the last answer`,
        );
    }
  }

  private next(): void {
    this.timer = setTimeout(() => {
      void this.poll().then(() => {
        if (!this.stopped) this.next();
      });
    }, this.options.everyMs);
  }
}
