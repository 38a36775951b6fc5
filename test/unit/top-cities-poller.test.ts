/**
 * The top cities of `npm start`'s progress line (local/pipeline/top-cities-poller.ts): polled
 * on a fixed pause, and a failed poll is reported, not swallowed: every one to the run's log as
 * a retried WARN, the terminal told once when failures persist and once when they end.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  describeCities,
  type LabelledCity,
  TopCitiesPoller,
} from "../../local/pipeline/top-cities-poller.js";

const NEW_YORK: LabelledCity = { label: "New York City, NY", rsvps: 12 };
const CHICAGO: LabelledCity = { label: "Chicago, IL", rsvps: 7 };

function poller(answers: (() => Promise<LabelledCity[]>)[]) {
  const logged: { level: string; message: string; attributes: Record<string, unknown> }[] = [];
  const notices: string[] = [];
  let asked = 0;
  const topCities = new TopCitiesPoller({
    query: () => {
      const answer = answers[Math.min(asked, answers.length - 1)] as () => Promise<LabelledCity[]>;
      asked += 1;
      return answer();
    },
    everyMs: 2000,
    log: {
      warn: (message, attributes) => logged.push({ level: "WARN", message, attributes }),
      info: (message, attributes) => logged.push({ level: "INFO", message, attributes }),
    },
    notice: (line) => notices.push(line),
    noticeAfter: 3,
  });
  return { topCities, logged, notices, asked: () => asked };
}

const answer = (cities: LabelledCity[]) => () => Promise.resolve(cities);
const failure = (message: string) => () => Promise.reject(new Error(message));

describe("TopCitiesPoller", () => {
  beforeEach(() => void vi.useFakeTimers({ now: 0 }));
  afterEach(() => void vi.useRealTimers());

  it("polls every 2 s after the previous answer and shows the latest", async () => {
    const { topCities, asked } = poller([answer([NEW_YORK]), answer([NEW_YORK, CHICAGO])]);
    topCities.start();
    expect(topCities.text).toBe("");
    await vi.advanceTimersByTimeAsync(1999);
    expect(asked()).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(topCities.text).toBe("New York City, NY 12");
    await vi.advanceTimersByTimeAsync(2000);
    expect(topCities.text).toBe("New York City, NY 12, Chicago, IL 7");
    expect(asked()).toBe(2);
    topCities.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(asked()).toBe(2);
  });

  it("logs each failed poll as a retried warning and keeps the last answer", async () => {
    const { topCities, logged, notices } = poller([
      answer([NEW_YORK]),
      failure("ProvisionedThroughputExceededException"),
      answer([CHICAGO]),
    ]);
    topCities.start();
    await vi.advanceTimersByTimeAsync(4000);
    expect(topCities.text).toBe("New York City, NY 12");
    expect(logged).toEqual([
      {
        level: "WARN",
        message: "top cities poll failed; retrying",
        attributes: {
          error: "ProvisionedThroughputExceededException",
          failedPolls: 1,
          retryInMs: 2000,
        },
      },
    ]);
    // One failure is not worth the terminal's attention.
    expect(notices).toEqual([]);
    await vi.advanceTimersByTimeAsync(2000);
    expect(topCities.text).toBe("Chicago, IL 7");
    expect(logged.at(-1)).toEqual({
      level: "INFO",
      message: "top cities poll answered again",
      attributes: { failedPolls: 1 },
    });
    expect(notices).toEqual([]);
    topCities.stop();
  });

  it("tells the terminal once when failures persist, and once when the table answers again", async () => {
    const { topCities, logged, notices } = poller([
      ...Array.from({ length: 6 }, () => failure("connect ECONNREFUSED 127.0.0.1:5000")),
      answer([NEW_YORK]),
    ]);
    topCities.start();
    await vi.advanceTimersByTimeAsync(6 * 2000);
    expect(logged.filter((line) => line.level === "WARN")).toHaveLength(6);
    expect(notices).toEqual([
      "top US cities: the counts table has not answered 3 polls in a row (connect ECONNREFUSED 127.0.0.1:5000); retrying every 2 s, the progress line keeps the last answer",
    ]);
    await vi.advanceTimersByTimeAsync(2000);
    expect(notices.at(-1)).toBe("top US cities: the counts table answers again");
    expect(notices).toHaveLength(2);
    expect(topCities.text).toBe("New York City, NY 12");
    topCities.stop();
  });

  it("does not poll again while a poll is still waiting for its answer", async () => {
    let release: (cities: LabelledCity[]) => void = () => {};
    const { topCities, asked } = poller([
      () => new Promise<LabelledCity[]>((resolve) => (release = resolve)),
      answer([CHICAGO]),
    ]);
    topCities.start();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(asked()).toBe(1);
    release([NEW_YORK]);
    await vi.advanceTimersByTimeAsync(2000);
    expect(asked()).toBe(2);
    expect(topCities.text).toBe("Chicago, IL 7");
    topCities.stop();
  });
});

describe("describeCities", () => {
  it("names each city with its RSVPs", () => {
    expect(describeCities([NEW_YORK, CHICAGO])).toBe("New York City, NY 12, Chicago, IL 7");
    expect(describeCities([])).toBe("");
  });
});
