/**
 * The partitions of a topic, from the cluster's metadata: where the ingest sends its ticks
 * (functions/shared/partition-tick.ts). Asked each round, so partitions added to the topic get
 * ticks too. Needs `kafka-cluster:DescribeTopic` on the topic, which the task role has (it reads
 * the resume point back from the same topic).
 */
import type { Kafka } from "kafkajs";

export async function topicPartitions(kafka: Kafka, topic: string): Promise<number[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    const partitions = metadata.topics
      .find((entry) => entry.name === topic)
      ?.partitions.map((partition) => partition.partitionId)
      .sort((a, b) => a - b);
    if (!partitions || partitions.length === 0)
      throw new Error(`the cluster names no partitions of topic ${topic}`);
    return partitions;
  } finally {
    await admin.disconnect();
  }
}
