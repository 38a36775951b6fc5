/**
 * Stands in for `aws-msk-iam-sasl-signer-js` in tests (see ./register.mjs): the same
 * `generateAuthToken({ region })`, answering `{ token, expiryTime }`, but the token is an
 * unsecured JWT that Kafka's default OAUTHBEARER validator accepts
 * (OAuthBearerUnsecuredValidatorCallbackHandler: header `alg` "none", empty signature, a string
 * `sub`, a numeric `exp` in the future, `iat` before `exp`). Everything around the token (TLS,
 * the SASL handshake, kafkajs's OAUTHBEARER provider) is the production path; only the IAM
 * signature is not.
 */

/** MSK's IAM tokens live 15 minutes (the signer presigns for 900 s); so do these. */
const LIFETIME_SECONDS = 900;

/**
 * One JWT segment: JSON, base64url without padding. Kafka 4.0.2's unsecured JWS parser decodes
 * segments with Java's basic Base64 decoder, not the URL-safe one (KAFKA-17089 fixed that only
 * for the OAuth/OIDC validator), so a segment with `-` or `_` would be refused as malformed.
 * Where base64url has neither, it is also plain base64; ASCII JSON without `>`, `?` or `~`
 * never produces them, and the claims here are such JSON.
 * @param {Record<string, unknown>} value
 */
function segment(value) {
  const encoded = Buffer.from(JSON.stringify(value), "utf8").toString("base64url");
  if (/[-_]/.test(encoded)) {
    throw new Error(`JWT segment ${encoded} would not decode in Kafka's unsecured JWS parser`);
  }
  return encoded;
}

/**
 * An unsecured JWT (RFC 7519 section 6): header and claims, and an empty signature.
 * @param {Record<string, unknown>} claims
 * @param {Record<string, unknown>} [header] `{ alg: "none" }` unless given
 */
export function unsecuredJwt(claims, header = { alg: "none" }) {
  return `${segment(header)}.${segment(claims)}.`;
}

/**
 * The signer's entry point, as kafka-client.ts calls it.
 * @param {{ region: string }} options
 * @returns {Promise<{ token: string, expiryTime: number }>}
 */
export async function generateAuthToken(options) {
  const now = Math.floor(Date.now() / 1000);
  const exp = now + LIFETIME_SECONDS;
  const token = unsecuredJwt({ sub: `rsvp-atlas-test@${options.region}`, iat: now, exp });
  return { token, expiryTime: exp * 1000 };
}
