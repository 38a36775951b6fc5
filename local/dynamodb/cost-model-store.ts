/**
 * A counts store that keeps item images instead of a table and charges every write by
 * DynamoDB's documented rules (write-units.ts): what bench/counts-cost and the unit test of
 * the per-RSVP cost run the real processBatch against. moto's ConsumedCapacity is a constant,
 * so the cost has to come from the items themselves; bench/counts-cost checks these images
 * against moto's.
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import type {
  Fences,
  ItemKey,
  StoredState,
  UnsettledBatch,
  WriteAction,
} from "../../functions/city-counts/counting.js";
import {
  fencesOfItem,
  itemKeys,
  keyId,
  storedStateOf,
  unsettledBatchOf,
} from "../../functions/city-counts/counting.js";
import type { CountsStore } from "../../functions/city-counts/counts-store.js";
import { itemSizeBytes, writeUnits } from "./write-units.js";

export type Item = Record<string, AttributeValue>;

/** Keeps item images, applies the counting's two write shapes to them, and charges write units
 * (single-item writes: no transaction doubles them). */
export class CostModelStore implements CountsStore {
  readonly images = new Map<string, Item>();
  writeUnits = 0;
  /** Write units per partition key, per second of feed time (set by the caller). */
  readonly perKeySecond = new Map<string, number>();
  second = 0;
  largestItem = 0;

  async readStates(rsvpIds: number[]): Promise<Map<number, StoredState>> {
    const states = new Map<number, StoredState>();
    for (const rsvpId of rsvpIds) {
      const image = this.images.get(keyId(itemKeys.rsvp(rsvpId)));
      if (!image) continue;
      const stored = storedStateOf(image);
      // As the DynamoDB store does: an item this code cannot read back is a fault, not a miss.
      if (stored === null) throw new Error(`unreadable RSVP state item RSVP#${rsvpId}`);
      states.set(rsvpId, stored);
    }
    return states;
  }

  async readFences(keys: ItemKey[]): Promise<Fences> {
    const fences = new Map<string, Map<string, number>>();
    for (const key of keys) {
      const image = this.images.get(keyId(key));
      if (image) fences.set(keyId(key), fencesOfItem(image));
    }
    return fences;
  }

  async applyWrites(
    actions: WriteAction[],
    onOutcome?: (index: number, outcome: "applied") => void,
  ): Promise<"applied"[]> {
    for (const [index, action] of actions.entries()) {
      const key = action.Put?.Item ?? action.Update?.Key;
      const id = keyId({ pk: key?.pk?.S ?? "", sk: key?.sk?.S ?? "" });
      const before = this.images.get(id);
      const after = action.Put?.Item ?? applyUpdate(before, action.Update);
      const beforeBytes = before ? itemSizeBytes(before) : 0;
      const afterBytes = itemSizeBytes(after);
      const units = writeUnits(beforeBytes, afterBytes, false);
      this.writeUnits += units;
      this.largestItem = Math.max(this.largestItem, afterBytes);
      const perKey = `${this.second}\u0000${key?.pk?.S}`;
      this.perKeySecond.set(perKey, (this.perKeySecond.get(perKey) ?? 0) + units);
      this.images.set(id, after);
      onOutcome?.(index, "applied");
    }
    return actions.map(() => "applied");
  }

  async readUnsettled(tp: string): Promise<UnsettledBatch[]> {
    const { pk } = itemKeys.unsettled(tp, "");
    const batches: UnsettledBatch[] = [];
    for (const image of this.images.values()) {
      if (image.pk?.S !== pk) continue;
      const batch = unsettledBatchOf(image);
      if (batch === null) throw new Error(`unreadable unsettled-batch item ${pk} ${image.sk?.S}`);
      batches.push(batch);
    }
    return batches;
  }

  /** A delete costs the units of the item it deletes (1 per started KB). */
  async forgetUnsettled(tp: string, batches: UnsettledBatch[]): Promise<void> {
    for (const { sk } of batches) {
      const id = keyId(itemKeys.unsettled(tp, sk));
      const image = this.images.get(id);
      if (!image) continue;
      this.writeUnits += writeUnits(itemSizeBytes(image), 0, false);
      this.images.delete(id);
    }
  }

  /** The cost model's feeds hold no poison records: none is ever new. */
  async putDeadLetters(): Promise<number> {
    return 0;
  }
}

/** `ADD #a :a, ... SET #b = :b, ... REMOVE #c`, applied to an item image: how counters are written. */
function applyUpdate(image: Item | undefined, update: WriteAction["Update"]): Item {
  if (!update?.Key || !update.UpdateExpression) throw new Error("not an update");
  const names = update.ExpressionAttributeNames ?? {};
  const values = update.ExpressionAttributeValues ?? {};
  const next: Item = { ...(image ?? {}), ...update.Key };
  const [, add = "", set = "", remove = ""] =
    /^ADD (.*?)(?: SET (.*?))?(?: REMOVE (.*))?$/.exec(update.UpdateExpression) ?? [];
  for (const part of add.split(", ").filter(Boolean)) {
    const [name = "", value = ""] = part.split(" ");
    const attribute = names[name] ?? name;
    next[attribute] = {
      N: String(Number(next[attribute]?.N ?? 0) + Number(values[value]?.N ?? Number.NaN)),
    };
  }
  for (const part of set.split(", ").filter(Boolean)) {
    const [name = "", value = ""] = part.split(" = ");
    next[names[name] ?? name] = values[value] as AttributeValue;
  }
  for (const name of remove.split(", ").filter(Boolean)) delete next[names[name] ?? name];
  return next;
}
