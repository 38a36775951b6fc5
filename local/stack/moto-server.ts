/**
 * moto in server mode: the AWS emulator for S3, DynamoDB and Firehose (Firehose really writes
 * to moto's S3, one object per put, without buffering). State lives in memory only. Started
 * through moto_server.py beside this file, which makes DynamoDB transactions cost what they
 * touch rather than the whole table (moto snapshots every table once per action).
 */
import { join } from "node:path";
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

export async function startMotoServer(runDir: string): Promise<MotoServer> {
  const [port] = (await freePorts(1)) as [number];
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
    env: { ...process.env, PYTHONUNBUFFERED: "1" },
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
