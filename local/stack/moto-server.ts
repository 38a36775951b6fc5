/**
 * moto in server mode: the AWS emulator for S3, DynamoDB and Firehose (Firehose really writes
 * to moto's S3, one object per put, without buffering). State lives in memory only. Started
 * through moto_server.py beside this file, which makes DynamoDB transactions cost what they
 * touch rather than the whole table (moto snapshots every table once per action), and which
 * injects DynamoDB and Firehose faults from a file when asked to (see aws-faults.ts).
 */
import { join, resolve } from "node:path";
import { repoRoot, venvBin } from "../setup/paths.js";
import { freePorts } from "./ports.js";
import { type SupervisedProcess, startSupervised } from "./supervised-process.js";
import { waitUntil } from "./wait.js";

export interface MotoServer {
  /** `http://127.0.0.1:<port>`: the endpoint every AWS SDK client uses locally. */
  endpoint: string;
  port: number;
  process: SupervisedProcess;
}

export interface MotoServerOptions {
  /**
   * The faults file moto_server.py reads on every DynamoDB request and Firehose PutRecordBatch
   * (`RSVP_ATLAS_FAULTS_FILE`; written with aws-faults.ts). Without it moto injects nothing,
   * even when that variable is set in this process's environment: only a caller that asks for
   * faults gets them.
   */
  faultsFile?: string;
}

export async function startMotoServer(
  runDir: string,
  options: MotoServerOptions = {},
): Promise<MotoServer> {
  const [port] = (await freePorts(1)) as [number];
  const { RSVP_ATLAS_FAULTS_FILE: _inherited, ...environment } = process.env;
  if (options.faultsFile) environment.RSVP_ATLAS_FAULTS_FILE = resolve(options.faultsFile);
  const supervised = startSupervised({
    name: "moto",
    command: venvBin("python"),
    args: [
      join(repoRoot, "local", "stack", "moto_server.py"),
      "-H",
      "127.0.0.1",
      "-p",
      String(port),
    ],
    logPath: join(runDir, "moto.log"),
    env: { ...environment, PYTHONUNBUFFERED: "1" },
  });
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitUntil(`moto server on ${endpoint}`, supervised, 60_000, async () => {
      const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(2000) });
      return response.ok;
    });
  } catch (error) {
    await supervised.stop();
    throw error;
  }
  return { endpoint, port, process: supervised };
}
