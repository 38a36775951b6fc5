/**
 * The ingest's Kafka client alone: the Fargate task's producer (ingestProducer: kafkajs, its
 * settings, complete sends) sending the ingest's lines keyed by city with the resume header, in
 * requests cut as the ingest's sender cuts them (at most KAFKA_BATCH records and
 * KAFKA_BATCH_BYTES), one at a time. Between Kafka's own tool and the whole ingest, it tells
 * the client's cost from the pipeline's (the feed, parsing, Firehose).
 */
import { CompressionTypes, type Kafka } from "kafkajs";
import { KAFKA_BATCH, KAFKA_BATCH_BYTES } from "../../tasks/ingest/ingest.js";
import { ingestProducer } from "../../tasks/ingest/renewable-producer.js";
import { RESUME_HEADER } from "../../tasks/ingest/resume-point.js";

export async function kafkajsProducerRate(options: {
  kafka: Kafka;
  topic: string;
  /** The ingest's lines with their keys (the city key). */
  messages: { key: string; value: string }[];
}): Promise<{ perSecond: number; records: number; seconds: number; requests: number }> {
  const producer = ingestProducer(options.kafka);
  await producer.connect();
  const headers = { [RESUME_HEADER]: String(Date.now()) };
  try {
    let requests = 0;
    const started = performance.now();
    let start = 0;
    while (start < options.messages.length) {
      let end = start;
      let bytes = 0;
      while (end < options.messages.length && end - start < KAFKA_BATCH) {
        const size = Buffer.byteLength((options.messages[end] as { value: string }).value);
        if (end > start && bytes + size > KAFKA_BATCH_BYTES) break;
        bytes += size;
        end += 1;
      }
      await producer.sendBatch({
        acks: -1,
        compression: CompressionTypes.GZIP,
        topicMessages: [
          {
            topic: options.topic,
            messages: options.messages.slice(start, end).map((m) => ({ ...m, headers })),
          },
        ],
      });
      requests += 1;
      start = end;
    }
    const seconds = (performance.now() - started) / 1000;
    return {
      perSecond: options.messages.length / seconds,
      records: options.messages.length,
      seconds,
      requests,
    };
  } finally {
    await producer.disconnect();
  }
}
