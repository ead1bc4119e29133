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

/** How a blue/green update shifts traffic to the new fleet. */
export type TrafficRoutingSettings =
  /** All traffic at once, then the final baking period. */
  | { readonly type: 'ALL_AT_ONCE' }
  /** `canaryPercent` of the capacity first, baked for `canaryBakeSeconds`; then the rest, then the final baking period. */
  | { readonly type: 'CANARY'; readonly canaryPercent: number; readonly canaryBakeSeconds: number };

/**
 * SageMaker's limits on a blue/green update (botocore `TrafficRoutingConfig`, `BlueGreenUpdatePolicy`, `CapacitySize`;
 * https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_BlueGreenUpdatePolicy.html): waits of 0-3600 s, a
 * maximum execution timeout of 600-28800 s that must exceed the waits, a canary of at most 50% of the variant.
 */
export const BLUE_GREEN_LIMITS = {
  maxWaitSeconds: 3600,
  minExecutionTimeoutSeconds: 600,
  maxExecutionTimeoutSeconds: 28800,
  minCanaryPercent: 1,
  maxCanaryPercent: 50,
} as const;

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
  /** How traffic moves to the new fleet. */
  readonly trafficRouting: TrafficRoutingSettings;
  /**
   * The final baking period: with all traffic on the new fleet, the alarms are watched and the old fleet is kept
   * this long before it is terminated (sent as `TerminationWaitInSeconds`).
   */
  readonly bakeSeconds: number;
  /** Upper bound on one blue/green update (`MaximumExecutionTimeoutInSeconds`); larger than the waits. */
  readonly maxUpdateSeconds: number;
}

/** Seconds a blue/green update waits in all (canary bake + final bake), besides provisioning. */
export function totalWaitSeconds(config: Pick<DeployConfig, 'trafficRouting' | 'bakeSeconds'>): number {
  const canary = config.trafficRouting.type === 'CANARY' ? config.trafficRouting.canaryBakeSeconds : 0;
  return canary + config.bakeSeconds;
}

/** Parses and checks the configuration; throws naming the first bad field. */
export function parseDeployConfig(json: string | undefined): DeployConfig {
  if (!json) throw new Error(`${DEPLOY_CONFIG_ENV} is not set`);
  const config = JSON.parse(json) as DeployConfig;
  const need = (ok: boolean, field: string) => {
    if (!ok) throw new Error(`${DEPLOY_CONFIG_ENV}.${field} is missing or invalid`);
  };
  const wait = (value: unknown) => Number.isInteger(value) && (value as number) >= 0 && (value as number) <= BLUE_GREEN_LIMITS.maxWaitSeconds;
  for (const field of ['endpointName', 'namePrefix', 'modelPackageGroupName', 'modelRoleArn', 'instanceType'] as const) {
    need(typeof config[field] === 'string' && config[field].length > 0, field);
  }
  need(Number.isInteger(config.instanceCount) && config.instanceCount >= 1, 'instanceCount');
  need(Array.isArray(config.rollbackAlarmNames), 'rollbackAlarmNames');
  need(wait(config.bakeSeconds), 'bakeSeconds');
  const routing = config.trafficRouting as Partial<{ type: string; canaryPercent: number; canaryBakeSeconds: number }> | undefined;
  need(typeof routing === 'object' && routing !== null && (routing.type === 'ALL_AT_ONCE' || (routing.type === 'CANARY'
    && Number.isInteger(routing.canaryPercent)
    && routing.canaryPercent! >= BLUE_GREEN_LIMITS.minCanaryPercent && routing.canaryPercent! <= BLUE_GREEN_LIMITS.maxCanaryPercent
    && wait(routing.canaryBakeSeconds))), 'trafficRouting');
  need(Number.isInteger(config.maxUpdateSeconds)
    && config.maxUpdateSeconds >= BLUE_GREEN_LIMITS.minExecutionTimeoutSeconds
    && config.maxUpdateSeconds <= BLUE_GREEN_LIMITS.maxExecutionTimeoutSeconds
    && config.maxUpdateSeconds > totalWaitSeconds(config), 'maxUpdateSeconds');
  if (config.autoScaling) {
    const s = config.autoScaling;
    need(Number.isInteger(s.minCapacity) && s.minCapacity >= 1 && Number.isInteger(s.maxCapacity) && s.maxCapacity >= s.minCapacity, 'autoScaling');
  }
  return config;
}
