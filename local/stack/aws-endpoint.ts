/**
 * Locally only the endpoint differs from AWS: the same SDK clients talk to moto when these
 * settings (or the matching environment variables) are given.
 */
export interface AwsEndpoint {
  endpoint: string;
  region: string;
}

export const LOCAL_REGION = "us-east-1";

/** moto accepts any credentials; fixed ones keep a developer's real AWS profile out of local runs. */
const LOCAL_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };

export function awsClientConfig(target: AwsEndpoint) {
  return { endpoint: target.endpoint, region: target.region, credentials: LOCAL_CREDENTIALS };
}

/** Environment variables that point any AWS SDK v3 client of a child process at `target`. */
export function localAwsEnvironment(target: AwsEndpoint): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: target.endpoint,
    AWS_REGION: target.region,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
  };
}
