/**
 * Brings a Kafka cluster's topics to the wanted partition counts, idempotently: a missing topic
 * is created, a topic with fewer partitions is given more, one with as many is left alone.
 *
 * Kafka can add partitions but never remove them, so a topic with more partitions than wanted is
 * an error, and the whole request is checked before anything changes: a refused request leaves
 * every topic as it was. That matters to CloudFormation, which answers a failed update by
 * sending the old properties again; a half-applied request would make that rollback fail too.
 *
 * The replication factor is a creation setting: an existing topic keeps its own (changing it is
 * a partition reassignment, not something a deploy should do quietly). The configs the template
 * names (the RSVP topic's `retention.ms`) are set on creation and brought to the asked value on
 * an existing topic, keeping its other overrides: Kafka's AlterConfigs (what kafkajs sends)
 * replaces a topic's whole set of overrides, so the current ones are read and sent back with it.
 */
import { type Admin, ConfigResourceTypes, ConfigSource } from "kafkajs";

export interface DesiredTopic {
  name: string;
  partitions: number;
  replicationFactor: number;
  /** Topic configs (e.g. `retention.ms`): set on creation, and on an existing topic that differs. */
  configs?: Record<string, string>;
}

export type TopicOutcome = (
  | { topic: string; action: "created"; partitions: number }
  | { topic: string; action: "grown"; from: number; partitions: number }
  | { topic: string; action: "unchanged"; partitions: number }
) & {
  /** Configs of an existing topic set to the asked value: name → [was, now]. */
  reconfigured?: Record<string, [string | null, string]>;
};

/** What ensureTopics uses of a kafkajs admin (a fake in unit tests). */
export type TopicsAdmin = Pick<
  Admin,
  | "listTopics"
  | "fetchTopicMetadata"
  | "createTopics"
  | "createPartitions"
  | "describeConfigs"
  | "alterConfigs"
>;

export interface TopicShrink {
  topic: string;
  current: number;
  desired: number;
}

/** A topic has more partitions than wanted; Kafka cannot take partitions away. */
export class TopicPartitionsCannotShrinkError extends Error {
  override readonly name = "TopicPartitionsCannotShrinkError";
  constructor(readonly shrinks: readonly TopicShrink[]) {
    super(shrinkMessage(shrinks));
  }
}

function shrinkMessage(shrinks: readonly TopicShrink[]): string {
  const each = shrinks.map(
    ({ topic, current, desired }) => `topic ${topic} has ${current} partitions, ${desired} wanted`,
  );
  return `${each.join("; ")}: Kafka cannot remove partitions (keep the count, or move to a new topic); no topic was changed`;
}

/** The request itself is wrong (duplicate names, counts below 1). */
export class InvalidTopicsError extends Error {
  override readonly name = "InvalidTopicsError";
}

/**
 * Creates the missing topics and grows the short ones; returns what it did per topic, in the
 * order asked. Throws {@link TopicPartitionsCannotShrinkError} before changing anything if a
 * topic would have to shrink.
 */
export async function ensureTopics(
  admin: TopicsAdmin,
  desired: readonly DesiredTopic[],
): Promise<TopicOutcome[]> {
  checkRequest(desired);
  return applyPlan(admin, desired, true);
}

async function applyPlan(
  admin: TopicsAdmin,
  desired: readonly DesiredTopic[],
  mayReplan: boolean,
): Promise<TopicOutcome[]> {
  const existing = await currentPartitions(admin, desired);
  const shrinks: TopicShrink[] = [];
  const outcomes: TopicOutcome[] = [];
  const toCreate: DesiredTopic[] = [];
  const toGrow: DesiredTopic[] = [];
  for (const topic of desired) {
    const current = existing.get(topic.name);
    if (current === undefined) {
      toCreate.push(topic);
      outcomes.push({ topic: topic.name, action: "created", partitions: topic.partitions });
    } else if (current > topic.partitions) {
      shrinks.push({ topic: topic.name, current, desired: topic.partitions });
    } else if (current < topic.partitions) {
      toGrow.push(topic);
      outcomes.push({
        topic: topic.name,
        action: "grown",
        from: current,
        partitions: topic.partitions,
      });
    } else {
      outcomes.push({ topic: topic.name, action: "unchanged", partitions: current });
    }
  }
  if (shrinks.length > 0) throw new TopicPartitionsCannotShrinkError(shrinks);

  if (toCreate.length > 0) {
    const created = await admin.createTopics({
      waitForLeaders: true,
      topics: toCreate.map((topic) => ({
        topic: topic.name,
        numPartitions: topic.partitions,
        replicationFactor: topic.replicationFactor,
        ...(topic.configs
          ? {
              configEntries: Object.entries(topic.configs).map(([name, value]) => ({
                name,
                value,
              })),
            }
          : {}),
      })),
    });
    // false: every one of them already existed. Another client created them since the listing;
    // their counts are unknown, so plan again, once. A second time means the listing cannot see
    // topics that exist, i.e. this role may create topics but not describe them.
    if (!created) {
      if (mayReplan) return applyPlan(admin, desired, false);
      throw new Error(
        `topics ${toCreate.map((t) => t.name).join(", ")} already exist but are not listed: is kafka-cluster:DescribeTopic granted on them?`,
      );
    }
  }
  if (toGrow.length > 0) {
    await admin.createPartitions({
      topicPartitions: toGrow.map((topic) => ({ topic: topic.name, count: topic.partitions })),
    });
  }
  const created = new Set(toCreate.map((topic) => topic.name));
  for (const topic of desired) {
    if (created.has(topic.name) || !topic.configs) continue;
    const reconfigured = await reconcileConfigs(admin, topic.name, topic.configs);
    const outcome = outcomes.find((o) => o.topic === topic.name);
    if (outcome && Object.keys(reconfigured).length > 0) outcome.reconfigured = reconfigured;
  }
  return outcomes;
}

/** Sets the wanted configs an existing topic does not have, keeping its other overrides. */
async function reconcileConfigs(
  admin: TopicsAdmin,
  topic: string,
  wanted: Record<string, string>,
): Promise<Record<string, [string | null, string]>> {
  const { resources } = await admin.describeConfigs({
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }],
    includeSynonyms: false,
  });
  const entries = resources[0]?.configEntries ?? [];
  const overrides = new Map(
    entries
      .filter((entry) => entry.configSource === ConfigSource.TOPIC_CONFIG)
      .map((entry) => [entry.configName, entry.configValue]),
  );
  const current = new Map(entries.map((entry) => [entry.configName, entry.configValue]));
  const changes: Record<string, [string | null, string]> = {};
  for (const [name, value] of Object.entries(wanted)) {
    if (overrides.get(name) !== value) changes[name] = [current.get(name) ?? null, value];
    overrides.set(name, value);
  }
  if (Object.keys(changes).length === 0) return changes;
  await admin.alterConfigs({
    validateOnly: false,
    resources: [
      {
        type: ConfigResourceTypes.TOPIC,
        name: topic,
        configEntries: [...overrides].map(([name, value]) => ({ name, value })),
      },
    ],
  });
  return changes;
}

/** The partition count of each wanted topic that exists. */
async function currentPartitions(
  admin: TopicsAdmin,
  desired: readonly DesiredTopic[],
): Promise<Map<string, number>> {
  // Listing first: the metadata of a topic that does not exist is an error after retries.
  const listed = new Set(await admin.listTopics());
  const present = desired.map((topic) => topic.name).filter((name) => listed.has(name));
  if (present.length === 0) return new Map();
  const { topics } = await admin.fetchTopicMetadata({ topics: present });
  return new Map(topics.map((topic) => [topic.name, topic.partitions.length]));
}

function checkRequest(desired: readonly DesiredTopic[]): void {
  const seen = new Set<string>();
  for (const topic of desired) {
    if (seen.has(topic.name)) throw new InvalidTopicsError(`topic ${topic.name} is listed twice`);
    seen.add(topic.name);
    for (const [what, value] of [
      ["partitions", topic.partitions],
      ["replication factor", topic.replicationFactor],
    ] as const) {
      if (!Number.isInteger(value) || value < 1) {
        throw new InvalidTopicsError(
          `topic ${topic.name}: ${what} must be a whole number of at least 1, got ${value}`,
        );
      }
    }
  }
}
