// The deploy function's configuration, written by the construct into one environment variable.
// Runtime-free: the construct imports it, so it must not import the AWS SDK.

/** Environment variable holding the JSON {@link DeployConfig}. */
export const DEPLOY_CONFIG_ENV = 'DEPLOY_CONFIG';

/** Target-tracking auto-scaling of the endpoint's variant. */
export interface AutoScalingConfig {
  readonly minCapacity: number;
  readonly maxCapacity: number;
  readonly targetInvocationsPerInstance: number;
  readonly scaleInCooldownSeconds: number;
  readonly scaleOutCooldownSeconds: number;
}

/** Capture of requests and responses to S3. */
export interface DataCaptureSettings {
  /** `s3://bucket/prefix` */
  readonly destinationS3Uri: string;
  readonly samplingPercentage: number;
  readonly kmsKeyId?: string;
}

/** What the deploy logic needs to know about the endpoint it manages. */
export interface DeployConfig {
  /** The stable endpoint name (lower case). */
  readonly endpointName: string;
  /** Prefix of every model and endpoint config name created for the endpoint. */
  readonly namePrefix: string;
  readonly modelPackageGroupName: string;
  readonly modelRoleArn: string;
  readonly instanceType: string;
  readonly instanceCount: number;
  /** Absent: no auto-scaling (an existing scalable target is removed). */
  readonly autoScaling?: AutoScalingConfig;
  /** Encrypts the ML storage volume. */
  readonly volumeKmsKeyId?: string;
  readonly dataCapture?: DataCaptureSettings;
  /** CloudWatch alarms that roll an update back (names, same account and Region). */
  readonly rollbackAlarmNames: string[];
  /** Baking period after traffic shifts, during which the alarms are watched. */
  readonly bakeSeconds: number;
  /** How long the old fleet is kept after the shift. */
  readonly terminationWaitSeconds: number;
  /** Upper bound on one blue/green update. */
  readonly maxUpdateSeconds: number;
}

/** Parses and checks the configuration; throws naming the first bad field. */
export function parseDeployConfig(json: string | undefined): DeployConfig {
  if (!json) throw new Error(`${DEPLOY_CONFIG_ENV} is not set`);
  const config = JSON.parse(json) as DeployConfig;
  const need = (ok: boolean, field: string) => {
    if (!ok) throw new Error(`${DEPLOY_CONFIG_ENV}.${field} is missing or invalid`);
  };
  for (const field of ['endpointName', 'namePrefix', 'modelPackageGroupName', 'modelRoleArn', 'instanceType'] as const) {
    need(typeof config[field] === 'string' && config[field].length > 0, field);
  }
  need(Number.isInteger(config.instanceCount) && config.instanceCount >= 1, 'instanceCount');
  need(Array.isArray(config.rollbackAlarmNames), 'rollbackAlarmNames');
  for (const field of ['bakeSeconds', 'terminationWaitSeconds', 'maxUpdateSeconds'] as const) {
    need(Number.isInteger(config[field]) && config[field] >= 0, field);
  }
  if (config.autoScaling) {
    const s = config.autoScaling;
    need(Number.isInteger(s.minCapacity) && s.minCapacity >= 1 && Number.isInteger(s.maxCapacity) && s.maxCapacity >= s.minCapacity, 'autoScaling');
  }
  return config;
}
