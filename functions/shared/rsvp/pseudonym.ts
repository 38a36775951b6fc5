import { createHmac } from "node:crypto";

/** Shorter keys make the pseudonyms guessable by brute force over the member-id space. */
export const MIN_PSEUDONYM_KEY_LENGTH = 32;

/**
 * Returns a function that maps a member id to a keyed pseudonym (HMAC-SHA256, first 128 bits,
 * hex). The same member gets the same pseudonym under one key, so distinct members can still be
 * counted, but without the key the id cannot be recovered by hashing all possible ids.
 */
export function createMemberPseudonymizer(key: string): (memberId: number) => string {
  if (key.length < MIN_PSEUDONYM_KEY_LENGTH) {
    throw new RangeError(
      `the member pseudonym key must be at least ${MIN_PSEUDONYM_KEY_LENGTH} characters long`,
    );
  }
  return (memberId) =>
    createHmac("sha256", key).update(String(memberId)).digest("hex").slice(0, 32);
}
