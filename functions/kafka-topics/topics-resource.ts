/**
 * The Custom::KafkaTopics resource: its properties (the wanted topics, checked before Kafka is
 * touched), its physical id, and what each request does. Delete leaves the topics: they hold the
 * stream's data and go with the cluster anyway. Update keeps the physical id, so CloudFormation
 * never treats a changed topic list as a replacement (which would follow with a Delete of the
 * "old" resource). ./topics.ts brings the topics to what is wanted.
 */
import { createHash } from "node:crypto";
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import type { Admin } from "kafkajs";
import { z } from "zod";
import {
  type CustomResourceLog,
  type CustomResourceResult,
  InvalidPropertiesError,
} from "../shared/custom-resource.js";
import { RETENTION_CHECK_HOURS, topicKeepsRecordsHours } from "../shared/topic-retention.js";
import { type DesiredTopic, ensureTopics, type TopicsAdmin } from "./topics.js";

/** The admin a request uses: ensureTopics's calls, plus connect and disconnect. */
export type KafkaTopicsAdmin = TopicsAdmin & Pick<Admin, "connect" | "disconnect">;

export interface TopicsResourceDependencies {
  /** A new, not yet connected admin; called only for Create and Update. */
  createAdmin: () => Promise<KafkaTopicsAdmin>;
  log?: CustomResourceLog;
}

/** Kafka's rule for topic names (and the template's AllowedPattern for its topic parameters). */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

// CloudFormation hands every property value over as a string, hence the coercions.
const topicSchema = z.strictObject({
  Name: z
    .string()
    .regex(TOPIC_NAME, "must be 1 to 249 of a-z A-Z 0-9 . _ -")
    .refine((name) => name !== "." && name !== "..", "must not be . or .."),
  Partitions: z.coerce.number().int().min(1),
  ReplicationFactor: z.coerce.number().int().min(1),
  /** The topic's retention.ms, in hours; absent: the cluster's default. */
  RetentionHours: z.coerce.number().int().min(1).optional(),
  /** The topic's segment.ms, in hours: Kafka deletes whole segments, so a record may outlive
   * its retention by up to this. Absent: the cluster's default (a week). */
  SegmentHours: z.coerce.number().int().min(1).optional(),
});

const propertiesSchema = z
  .object({
    ServiceToken: z.string().min(1),
    /**
     * The counts' dedup horizon: a topic may not keep records that long, or a redelivery from
     * it could find an RSVP's state expired and count it again.
     */
    DedupHorizonDays: z.coerce.number().int().min(1).optional(),
    Topics: z
      .array(topicSchema)
      .min(1)
      .refine(
        (topics) => new Set(topics.map((topic) => topic.Name)).size === topics.length,
        "must not name a topic twice",
      )
      // Kafka refuses a topic whose name equals another's with "." read as "_" (they would
      // share metric names: InvalidTopicException "collides with existing topics").
      .refine(
        (topics) =>
          new Set(topics.map((topic) => topic.Name.replaceAll(".", "_"))).size ===
          new Set(topics.map((topic) => topic.Name)).size,
        'must not name two topics that differ only in "." and "_" (Kafka takes them as one)',
      ),
  })
  .superRefine(({ DedupHorizonDays, Topics }, context) => {
    if (DedupHorizonDays === undefined) return;
    Topics.forEach((topic, index) => {
      if (topic.RetentionHours === undefined) return;
      // Without an explicit segment roll, Kafka's default of a week is what a record may add.
      const segment = topic.SegmentHours ?? 168;
      if (topicKeepsRecordsHours(topic.RetentionHours, segment) >= DedupHorizonDays * 24) {
        context.addIssue({
          code: "custom",
          path: ["Topics", index, "RetentionHours"],
          message: `${topic.RetentionHours} h (+ ${segment} h of segment roll + ${RETENTION_CHECK_HOURS} h for the broker's retention check) must be shorter than DedupHorizonDays (${DedupHorizonDays} days = ${DedupHorizonDays * 24} h), or a redelivery could be counted twice`,
        });
      }
    });
  });

/**
 * Set on every topic, whatever the cluster's default: a replica out of sync never becomes a
 * partition's leader, so a record the ingest was told is written (acks=all) is never truncated
 * away by one that had not copied it. MSK's default configuration has
 * unclean.leader.election.enable true on clusters without tiered storage (MSK Developer Guide,
 * "Default Amazon MSK configuration"; Kafka's own default is false). The price: while no in-sync
 * replica is up, the partition waits for one instead of going on without the records.
 */
export const DURABLE_TOPIC_CONFIGS = { "unclean.leader.election.enable": "false" } as const;

/**
 * The wanted topics from the resource's properties; every problem named, a line each with its
 * path, in the reason CloudFormation shows.
 */
export function readProperties(properties: unknown): DesiredTopic[] {
  const result = propertiesSchema.safeParse(properties);
  if (!result.success) {
    throw new InvalidPropertiesError(
      `invalid ResourceProperties:\n${z.prettifyError(result.error)}`,
    );
  }
  return result.data.Topics.map((topic) => ({
    name: topic.Name,
    partitions: topic.Partitions,
    replicationFactor: topic.ReplicationFactor,
    configs: {
      ...(topic.RetentionHours === undefined
        ? {}
        : { "retention.ms": String(topic.RetentionHours * 3_600_000) }),
      ...(topic.SegmentHours === undefined
        ? {}
        : { "segment.ms": String(topic.SegmentHours * 3_600_000) }),
      ...DURABLE_TOPIC_CONFIGS,
    },
  }));
}

/** Stable for the resource's life: Update returns the id Create gave, whatever the topics. */
export function physicalIdOf(topics: readonly DesiredTopic[]): string {
  const names = topics.map((topic) => topic.name).join(",");
  if (names.length <= 200) return `kafka-topics:${names}`;
  return `kafka-topics:sha256-${createHash("sha256").update(names).digest("hex").slice(0, 16)}`;
}

/** Ensures the topics (Create, Update) or leaves them (Delete). */
export async function applyEvent(
  event: CloudFormationCustomResourceEvent,
  deps: TopicsResourceDependencies,
): Promise<CustomResourceResult> {
  if (event.RequestType === "Delete") {
    deps.log?.("keeping the topics on delete: they go with the cluster", {
      physicalResourceId: event.PhysicalResourceId,
    });
    return { PhysicalResourceId: event.PhysicalResourceId };
  }
  // Before any connection: a template mistake is answered at once, not after Kafka's retries.
  const topics = readProperties(event.ResourceProperties);
  const admin = await deps.createAdmin();
  try {
    await admin.connect();
    const outcomes = await ensureTopics(admin, topics);
    deps.log?.("topics ensured", { outcomes });
  } finally {
    await admin.disconnect().catch((error: unknown) => {
      deps.log?.("could not disconnect from Kafka", { error: String(error) });
    });
  }
  return {
    PhysicalResourceId:
      event.RequestType === "Create" ? physicalIdOf(topics) : event.PhysicalResourceId,
    Data: { TopicNames: topics.map((topic) => topic.name).join(",") },
  };
}
