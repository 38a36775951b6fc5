/**
 * `node [--import tsx] --import ./test/support/unsecured-msk-token/register.mjs <entry>`: runs
 * an entry point (the ingest task, the kafka-topics Lambda's bundle) with its MSK path unchanged
 * except for the IAM token. The AWS path (KAFKA_AUTH=iam) gets its token from
 * `aws-msk-iam-sasl-signer-js`; this registers a resolve hook (./hooks.mjs) that hands that
 * import ./signer.mjs instead, whose tokens the local broker's SASL_SSL listener accepts
 * (local/stack/kafka-broker.ts, `secureListener`). Nothing of the production code is edited
 * or mocked in-process: the same files run as on AWS.
 *
 * Registered after tsx, this hook runs before tsx's (hook chains run last-registered first) and
 * passes every other specifier on to it. A bundle must leave the signer out (esbuild
 * `external`), or there is no import left to resolve.
 */
import { register } from "node:module";

register("./hooks.mjs", import.meta.url);
