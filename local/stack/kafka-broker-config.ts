/**
 * What the local Kafka broker (kafka-broker.ts) starts with: its server.properties (KRaft, one
 * node, the listeners), the SASL_SSL listener's throwaway TLS identity, its log4j setup and a
 * cluster id. Files and text only; nothing here runs the broker.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";

/** The SASL_SSL listener's port and TLS identity (see {@link makeKeystore}). */
export interface SecureListener {
  port: number;
  keystorePath: string;
  keystorePassword: string;
  pemPath: string;
}

/** On one broker every internal topic must have replication factor 1 and min ISR 1, or
 * consumer groups fail with "group coordinator is not available". */
export function serverProperties(
  dataDir: string,
  brokerPort: number,
  controllerPort: number,
  secure?: SecureListener,
): string {
  const secureListener = secure ? `,SASL_SSL://127.0.0.1:${secure.port}` : "";
  return `${[
    "process.roles=broker,controller",
    "node.id=1",
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${brokerPort},CONTROLLER://127.0.0.1:${controllerPort}${secureListener}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${brokerPort}${secureListener}`,
    "controller.listener.names=CONTROLLER",
    `listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT${secure ? ",SASL_SSL:SASL_SSL" : ""}`,
    "inter.broker.listener.name=PLAINTEXT",
    ...(secure ? secureListenerProperties(secure) : []),
    `log.dirs=${dataDir}`,
    // Topics come from template.yaml only (local/stack/provision.ts); a typo must fail, not create.
    "auto.create.topics.enable=false",
    "offsets.topic.replication.factor=1",
    "offsets.topic.num.partitions=3",
    "transaction.state.log.replication.factor=1",
    "transaction.state.log.min.isr=1",
    "share.coordinator.state.topic.replication.factor=1",
    "share.coordinator.state.topic.min.isr=1",
    "min.insync.replicas=1",
    "default.replication.factor=1",
    "group.initial.rebalance.delay.ms=0",
  ].join("\n")}\n`;
}

/**
 * TLS from the keystore made at start, and SASL/OAUTHBEARER validated by Kafka's default (the
 * unsecured validator, see {@link KafkaBrokerOptions.secureListener}). The JAAS entry is what
 * every OAUTHBEARER listener needs; its `sub` claim is only the broker's own login token, which
 * nothing uses since brokers talk PLAINTEXT.
 */
function secureListenerProperties(secure: SecureListener): string[] {
  const prefix = "listener.name.sasl_ssl";
  return [
    "sasl.enabled.mechanisms=OAUTHBEARER",
    `${prefix}.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="rsvp-atlas-broker";`,
    `${prefix}.ssl.keystore.type=PKCS12`,
    `${prefix}.ssl.keystore.location=${secure.keystorePath}`,
    `${prefix}.ssl.keystore.password=${secure.keystorePassword}`,
    `${prefix}.ssl.key.password=${secure.keystorePassword}`,
  ];
}

/**
 * A throwaway TLS identity for the SASL_SSL listener, made with the JDK's keytool: a self-signed
 * certificate for CN=localhost with the names clients dial (ip 127.0.0.1, dns localhost), valid
 * for one day, in a PKCS12 keystore; and the same certificate as PEM for clients to trust.
 */
export function makeKeystore(home: string): Omit<SecureListener, "port"> {
  const keystorePath = join(home, "broker-keystore.p12");
  const pemPath = join(home, "broker-certificate.pem");
  const password = randomBytes(18).toString("base64url");
  // The password goes by environment, not argv, so it stays out of the process table.
  const env = { ...process.env, KEYSTORE_PASSWORD: password };
  const store = [
    "-keystore",
    keystorePath,
    "-storetype",
    "PKCS12",
    "-storepass:env",
    "KEYSTORE_PASSWORD",
  ];
  const steps = [
    [
      "-genkeypair",
      "-alias",
      "broker",
      "-keyalg",
      "RSA",
      "-keysize",
      "2048",
      "-dname",
      "CN=localhost",
      "-ext",
      "SAN=ip:127.0.0.1,dns:localhost",
      "-validity",
      "1",
      "-keypass:env",
      "KEYSTORE_PASSWORD",
      ...store,
    ],
    ["-exportcert", "-rfc", "-alias", "broker", "-file", pemPath, ...store],
  ];
  for (const args of steps) {
    const run = spawnSync("keytool", args, { encoding: "utf8", env });
    if (run.error || run.status !== 0) {
      throw new Error(
        `keytool ${args[0]} failed (keytool comes with the JDK):\n${run.error?.message ?? ""}${run.stdout}\n${run.stderr}`,
      );
    }
  }
  return { keystorePath, keystorePassword: password, pemPath };
}

export const LOG4J2 = `status = error
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.stdout.ref = STDOUT
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = INFO
`;

/** A Kafka cluster id: 16 random bytes, base64url without padding (what `random-uuid` prints). */
export function clusterId(): string {
  for (;;) {
    const id = crypto.getRandomValues(Buffer.alloc(16)).toString("base64url");
    // The storage tool's argument parser would read a leading "-" as an option.
    if (!id.startsWith("-")) return id;
  }
}
