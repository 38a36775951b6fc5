/**
 * The ingest task's configuration, from its environment (template.yaml's IngestTaskDefinition),
 * checked at start: a value it refuses stops the task before it reads anything. Exported so
 * the template's parameter patterns can be tested against it (FeedUrl).
 */
import { z } from "zod";

/** The namespace outside a stack (npm start, tests). */
export const DEFAULT_METRICS_NAMESPACE = "RsvpAtlas/Ingest";

/** How often each partition of the RSVP topic gets a tick, by default (PARTITION_TICK_SECONDS). */
export const DEFAULT_PARTITION_TICK_SECONDS = 3_600;

export const ingestConfigSchema = z.object({
  FEED_URL: z.url({ protocol: /^wss?$/ }),
  /** Comma-separated host:port; or leave empty and give KAFKA_CLUSTER_ARN (MSK). */
  KAFKA_BROKERS: z.string().default(""),
  KAFKA_CLUSTER_ARN: z.string().default(""),
  /** "iam" on MSK (TLS + SASL/OAUTHBEARER signed with the task role), "none" locally. */
  KAFKA_AUTH: z.enum(["iam", "none"]).default("iam"),
  RSVP_TOPIC: z.string().min(1).default("meetup"),
  DEAD_LETTER_TOPIC: z.string().min(1).default("meetup-dlq"),
  DELIVERY_STREAM_NAME: z.string().min(1),
  AWS_REGION: z.string().min(1).default("us-east-1"),
  COUNTERS_INTERVAL_SECONDS: z.coerce.number().positive().default(10),
  /** "emf" on AWS (the counters become CloudWatch metrics), "json" locally. */
  METRICS_FORMAT: z.enum(["emf", "json"]).default("emf"),
  /**
   * The counters' CloudWatch namespace. A metric is its namespace, name and dimensions alone,
   * so the template gives each stack its own (`RsvpAtlas/<stack>/Ingest`): two stacks in one
   * account and Region would otherwise feed each other's alarms.
   */
  METRICS_NAMESPACE: z
    .string()
    .regex(/^[A-Za-z0-9._\-/#: ]{1,255}$/, "a CloudWatch namespace")
    .default(DEFAULT_METRICS_NAMESPACE),
  /** "false" plays a feed once (a recording) and exits when it ends. */
  RECONNECT_AFTER_NORMAL_CLOSE: z.enum(["true", "false"]).default("true"),
  /**
   * "since_mtime": at start, ask the feed again for what changed after the durable point the
   * topic holds (resume-point.ts), so a killed task loses nothing; "off": live messages only.
   */
  FEED_RESUME: z.enum(["since_mtime", "off"]).default("since_mtime"),
  /**
   * How long a stop may take to send what is queued. ECS kills the container its StopTimeout
   * after SIGTERM (template: 60 s); past this the task gives up, says how much it holds unsent
   * and exits 1 while it still can. What it held is not lost: the next task asks the feed again
   * from the durable point (resume-point.ts).
   */
  DRAIN_TIMEOUT_SECONDS: z.coerce.number().positive().default(50),
  /**
   * How often the ingest sends a tick record to each partition of the RSVP topic (and once at
   * start), so that every partition has a batch that settles its set-aside ones before their
   * states expire (functions/shared/partition-tick.ts); at most a day, far inside the dedup
   * horizon. 0: no ticks.
   */
  PARTITION_TICK_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(86_400)
    .default(DEFAULT_PARTITION_TICK_SECONDS),
});
