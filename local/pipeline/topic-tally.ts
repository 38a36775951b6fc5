/**
 * A Kafka consumer that reads the RSVP topic and tallies what arrived, per city: proof for the
 * foundation's `npm start` that records really went through the broker. The exactly-once
 * DynamoDB counts are the city-counts Lambda's job.
 */
import type { Consumer, Kafka } from "kafkajs";
import type { RsvpRecord } from "../../functions/shared/rsvp/record.js";

export interface TopicTally {
  consumed: number;
  byCity: Map<string, { label: string; count: number }>;
  stop(): Promise<void>;
}

export async function startTopicTally(
  kafka: Kafka,
  topic: string,
  groupId: string,
): Promise<TopicTally> {
  const consumer: Consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const tally: TopicTally = {
    consumed: 0,
    byCity: new Map(),
    stop: () => consumer.disconnect(),
  };
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const message of batch.messages) {
        tally.consumed += 1;
        const record = JSON.parse(message.value?.toString() ?? "null") as RsvpRecord;
        const entry = tally.byCity.get(record.city.key);
        if (entry) entry.count += 1;
        else tally.byCity.set(record.city.key, { label: cityLabel(record.city), count: 1 });
      }
    },
  });
  return tally;
}

/** "Portland, OR" for US and Canadian cities, "Bogotá (co)" elsewhere. */
export function cityLabel(city: RsvpRecord["city"]): string {
  return city.state ? `${city.name}, ${city.state}` : `${city.name} (${city.country})`;
}
