/**
 * The Apache Kafka broker's jars, resolved from Maven Central by local/kafka/pom.xml into the
 * git-ignored .cache/kafka/<version>/lib. Maven is used only as a downloader; no Java is built.
 */
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fingerprint, isCurrent, markCurrent, withInstallLock } from "./fingerprint.js";
import { cacheDir, kafkaPomPath } from "./paths.js";
import { runWithProgress, setupStep } from "./run.js";

export interface KafkaInstall {
  version: string;
  /** Directory holding every jar; the class path is `<libDir>/*`. */
  libDir: string;
}

export function kafkaVersionFromPom(pom = readFileSync(kafkaPomPath, "utf8")): string {
  const version = pom.match(/<kafka\.version>([^<]+)<\/kafka\.version>/)?.[1];
  if (!version) throw new Error(`no <kafka.version> in ${kafkaPomPath}`);
  return version;
}

export async function ensureKafkaJars(): Promise<KafkaInstall> {
  const pom = readFileSync(kafkaPomPath, "utf8");
  const version = kafkaVersionFromPom(pom);
  const home = join(cacheDir, "kafka", version);
  const libDir = join(home, "lib");
  const marker = join(home, ".rsvp-atlas-pom.sha256");
  const expected = fingerprint(pom);
  if (isCurrent(marker, expected)) return { version, libDir };
  mkdirSync(cacheDir, { recursive: true });
  await withInstallLock(join(cacheDir, "kafka.lock"), async () => {
    if (isCurrent(marker, expected)) return; // another command fetched them meanwhile
    await fetchJars(version, home, libDir, marker, expected);
  });
  return { version, libDir };
}

async function fetchJars(
  version: string,
  home: string,
  libDir: string,
  marker: string,
  expected: string,
): Promise<void> {
  await setupStep(
    `Kafka ${version}: fetching the broker's jars and tools through Maven (first use; about 50 MB)`,
    async () => {
      rmSync(home, { recursive: true, force: true });
      mkdirSync(home, { recursive: true });
      await runWithProgress(
        "mvn",
        [
          "-B",
          "-f",
          kafkaPomPath,
          "dependency:copy-dependencies",
          `-DoutputDirectory=${libDir}`,
          "-DincludeScope=runtime",
        ],
        {
          prefix: "[setup] mvn  |",
          // One line per jar fetched (a fresh machine fetches about 50), and a failure; success
          // is said by the step itself ("done in ...").
          show: (line) => /Downloaded from \S+: \S+\.jar|BUILD FAILURE|ERROR/.test(line),
        },
      );
      markCurrent(marker, expected);
    },
  );
}
