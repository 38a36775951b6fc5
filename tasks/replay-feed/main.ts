/**
 * Entry point of the replay-feed task (ECS Fargate, from the ingest's image with its command
 * overridden). Meetup's RSVP stream is gone, so on AWS this is the stream: it replays a
 * recording kept in S3 to whoever connects, in the stream's own format, and the ingest task
 * reads it exactly as it read Meetup. Nothing is cached between connections: the object is
 * read anew for every connection and every pass of a loop, so a replaced recording is picked
 * up without a restart and memory stays flat however large the recording is.
 *
 * Configuration from the environment (see config.ts), checked at start, as is the object
 * itself: a wrong URI or a missing grant stops the task at once (exit 1) instead of showing
 * only as a feed that drops every connection. SIGTERM (ECS stopping the task) and SIGINT close
 * the connections with 1001, which the ingest treats as a reason to reconnect, then exit 0.
 *
 * The one thing kept across connections is the last frames sent (REPLAY_BUFFER_FRAMES): a
 * restarted ingest task reconnects with `since_mtime` and is sent again what its predecessor
 * received but had not yet stored (replay-server.ts). Replays, and resumes asking for more than
 * is still kept, are logged: a gap in the counts shows there first.
 */
import { S3Client } from "@aws-sdk/client-s3";
import { createLogger } from "../../functions/shared/logger.js";
import { manageTask } from "../task-lifecycle.js";
import { MAX_LINE_BYTES, oncePerLine } from "./bounded-lines.js";
import { readReplayFeedConfig } from "./config.js";
import { livePasses } from "./live-passes.js";
import { DEFAULT_REPLAY_BUFFER_FRAMES, startReplayServer } from "./replay-server.js";
import { checkS3Object, S3SourceError, s3Lines } from "./s3-lines.js";

const config = readReplayFeedConfig();
const logger = createLogger("replay-feed");
// Reused by every connection's download (one connection pool). Path-style only when an
// endpoint is given (moto locally), whose host names carry no bucket. The recording may sit in
// a bucket of another region than the task's: the client follows S3's redirect to it.
const s3 = new S3Client({
  forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL),
  followRegionRedirects: true,
});

let size: number;
try {
  size = await checkS3Object(s3, config.SOURCE_URI);
} catch (error) {
  // The error's message names the URI and what is wrong (no such object, access denied).
  logger.error(`cannot read the recording: ${(error as Error).message}`, { error: error as Error });
  process.exit(1);
}

// Said once per line, though every pass and connection leaves it out.
const tooLong = oncePerLine((oversized) =>
  logger.warn(
    "a line of the recording is longer than the ingest reads in a frame: left out of every pass and connection (said once)",
    { ...oversized, maxLineBytes: MAX_LINE_BYTES, source: config.SOURCE_URI },
  ),
);
const server = await startReplayServer({
  source: () =>
    s3Lines(s3, config.SOURCE_URI, {
      onOversized: tooLong,
    }),
  pacing: config.PACING,
  loop: config.LOOP,
  ...(config.LIVE ? { startPass: livePasses() } : {}),
  host: config.HOST,
  port: config.PORT,
  healthPath: "/healthz",
  ...(config.REPLAY_BUFFER_FRAMES !== undefined
    ? { replayBufferFrames: config.REPLAY_BUFFER_FRAMES }
    : {}),
  onResume: (resume) => {
    if ("ignored" in resume)
      logger.warn("a since_mtime that is not a non-negative integer was ignored", {
        sinceMtime: resume.ignored,
      });
    else if (!resume.complete)
      logger.warn(
        "a resume asked for frames no longer kept, or sent before this feed started: the client may miss some",
        {
          ...resume,
        },
      );
    else logger.info("a connection resumed: sending it what it missed", { ...resume });
  },
  onError: (error) =>
    logger.warn("a connection was dropped", {
      error: error as Error,
      // S3 errors name the URI themselves; a socket error would not.
      source: error instanceof S3SourceError ? undefined : config.SOURCE_URI,
    }),
});
logger.info("replay feed started", {
  url: server.url,
  source: config.SOURCE_URI,
  bytes: size,
  pacing: config.PACING,
  loop: config.LOOP,
  live: config.LIVE,
  replayBufferFrames: config.REPLAY_BUFFER_FRAMES ?? DEFAULT_REPLAY_BUFFER_FRAMES,
});

manageTask({
  logger,
  report: () => logger.info("replay stats", { ...server.stats }),
  reportEverySeconds: config.STATS_INTERVAL_SECONDS,
  stopping: "closing the connections",
  stop: async (stopReports) => {
    stopReports();
    await server.close();
    s3.destroy();
    logger.info("stopped", { ...server.stats });
    return 0;
  },
});
