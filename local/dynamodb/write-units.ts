/**
 * DynamoDB's documented size and write-unit rules, to compute what the code's writes cost from
 * the items it writes (moto's ConsumedCapacity is a constant, not a measurement).
 *
 * Item size ("Item sizes and formats", DynamoDB Developer Guide,
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
 * the UTF-8 bytes of every attribute name plus its value: a string its UTF-8 bytes, a number
 * about one byte per two significant digits plus one, binary its bytes, null and boolean one
 * byte, a list or map 3 bytes plus one per element plus its elements.
 *
 * Write units ("Read/write capacity mode" and "Amazon DynamoDB transactions", same guide): one
 * per 1 KB (rounded up) of the larger of the item's sizes before and after the write, twice
 * that inside TransactWriteItems.
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";

export function itemSizeBytes(item: Record<string, AttributeValue>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) size += utf8(name) + valueSize(value);
  return size;
}

function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return utf8(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return value.B.byteLength;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS !== undefined) return value.SS.reduce((sum, s) => sum + utf8(s), 0);
  if (value.NS !== undefined) return value.NS.reduce((sum, n) => sum + numberSize(n), 0);
  if (value.L !== undefined)
    return 3 + value.L.reduce((sum, element) => sum + 1 + valueSize(element), 0);
  if (value.M !== undefined)
    return (
      3 +
      Object.entries(value.M).reduce(
        (sum, [name, element]) => sum + 1 + utf8(name) + valueSize(element),
        0,
      )
    );
  throw new Error(`no size rule for ${JSON.stringify(value)}`);
}

/** Significant digits (leading and trailing zeros trimmed), one byte per two, plus one. */
function numberSize(text: string): number {
  const digits = text.replace(/^-/, "").replace(".", "").replace(/^0+/, "").replace(/0+$/, "");
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

const utf8 = (text: string) => Buffer.byteLength(text, "utf8");

/** Write units of one write: the larger of before and after, per started KB; doubled in a transaction. */
export function writeUnits(
  beforeBytes: number,
  afterBytes: number,
  transactional: boolean,
): number {
  const units = Math.max(1, Math.ceil(Math.max(beforeBytes, afterBytes) / 1024));
  return transactional ? 2 * units : units;
}
