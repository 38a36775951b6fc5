/**
 * A kafkajs socket factory that can lose the broker's answer to one Produce request: the
 * request reaches the broker (which appends the records), and the connection is reset before
 * the client reads the answer. That is what a broker killed between its append and its reply
 * does to a client, made to happen at a chosen moment instead of by luck.
 */
import { connect, type Socket } from "node:net";
import { type ISocketFactory, Kafka, logLevel } from "kafkajs";

/** Kafka's API key of Produce (the int16 after a request's size). */
const PRODUCE_API_KEY = 0;

export interface LossyProduceSockets {
  socketFactory: ISocketFactory;
  /**
   * From the next Produce request that names topic `first` (any, without it), `count` Produce
   * requests written go through; the answer of each is lost and its connection reset.
   */
  loseProduceAnswers(count: number, first?: string): void;
  /** Produce answers lost so far. */
  readonly lost: number;
}

export function lossyProduceSockets(): LossyProduceSockets {
  let toLose = 0;
  let firstNaming: Buffer | undefined;
  let lost = 0;
  const socketFactory: ISocketFactory = ({ host, port, onConnect }) => {
    const socket: Socket = connect({ host, port }, onConnect);
    /** The correlation id of the Produce request whose answer is to be lost. */
    let answerToLose: number | undefined;
    const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
    socket.write = ((chunk: unknown, ...rest: unknown[]) => {
      // kafkajs writes each request as one buffer: size (int32), API key (int16), API version
      // (int16), correlation id (int32).
      if (toLose > 0 && Buffer.isBuffer(chunk) && chunk.length >= 12) {
        if (
          chunk.readInt16BE(4) === PRODUCE_API_KEY &&
          (!firstNaming || chunk.includes(firstNaming))
        ) {
          firstNaming = undefined;
          toLose -= 1;
          answerToLose = chunk.readInt32BE(8);
        }
      }
      return write(chunk, ...rest);
    }) as Socket["write"];
    const emit = socket.emit.bind(socket) as (
      event: string | symbol,
      ...args: unknown[]
    ) => boolean;
    socket.emit = ((event: string | symbol, ...args: unknown[]) => {
      // An answer begins with its size (int32) and its request's correlation id (int32); the
      // producer has one request in flight per connection, so its answer starts a chunk.
      const chunk = args[0];
      if (
        event === "data" &&
        answerToLose !== undefined &&
        Buffer.isBuffer(chunk) &&
        chunk.length >= 8 &&
        chunk.readInt32BE(4) === answerToLose
      ) {
        answerToLose = undefined;
        lost += 1;
        socket.destroy(Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }));
        return true;
      }
      return emit(event, ...args);
    }) as Socket["emit"];
    return socket;
  };
  return {
    socketFactory,
    loseProduceAnswers: (count, first) => {
      toLose = count;
      // A request names its topics as plain strings (the records after them are compressed).
      firstNaming = first === undefined ? undefined : Buffer.from(first);
    },
    get lost() {
      return lost;
    },
  };
}

/** A kafkajs client of `brokers` whose connections are lossy sockets, and their control. */
export function lossyKafka(
  clientId: string,
  brokers: string[],
): { kafka: Kafka; lossy: LossyProduceSockets } {
  const lossy = lossyProduceSockets();
  const kafka = new Kafka({
    clientId,
    brokers,
    logLevel: logLevel.NOTHING,
    socketFactory: lossy.socketFactory,
  });
  return { kafka, lossy };
}
