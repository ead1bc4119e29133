import {
  DeregisterScalableTargetCommand,
  DescribeScalableTargetsCommand,
  PutScalingPolicyCommand,
  RegisterScalableTargetCommand,
  ScalableTarget,
} from '@aws-sdk/client-application-auto-scaling';
import { DeployClients, isNoScalableTarget } from './aws';
import { DeployConfig } from '../../../contracts/endpoint-deploy-config';
import { SCALABLE_DIMENSION, scalableResourceId } from '../../../contracts/endpoint-names';

/** Name of the target-tracking policy on the variant. */
export const SCALING_POLICY_NAME = 'invocations-per-instance';

/** The endpoint variant's scalable target, if registered. */
export async function findScalableTarget(clients: DeployClients, endpointName: string): Promise<ScalableTarget | undefined> {
  const out = await clients.autoScaling.send(new DescribeScalableTargetsCommand({
    ServiceNamespace: 'sagemaker',
    ResourceIds: [scalableResourceId(endpointName)],
    ScalableDimension: SCALABLE_DIMENSION,
  }));
  return out.ScalableTargets?.[0];
}

/** Deregisters the variant (which also deletes its scaling policies); false when there was nothing to remove. */
export async function removeScaling(clients: DeployClients, endpointName: string): Promise<boolean> {
  try {
    await clients.autoScaling.send(new DeregisterScalableTargetCommand({
      ServiceNamespace: 'sagemaker',
      ResourceId: scalableResourceId(endpointName),
      ScalableDimension: SCALABLE_DIMENSION,
    }));
    return true;
  } catch (error) {
    if (isNoScalableTarget(error)) return false;
    throw error;
  }
}

/**
 * Makes the variant's auto-scaling match the configuration: registers (or updates) the target and its
 * target-tracking policy, or removes them when auto-scaling is off. Both calls are idempotent.
 */
export async function applyScaling(clients: DeployClients, config: DeployConfig): Promise<void> {
  const scaling = config.autoScaling;
  if (!scaling) {
    await removeScaling(clients, config.endpointName);
    return;
  }
  const target = {
    ServiceNamespace: 'sagemaker' as const,
    ResourceId: scalableResourceId(config.endpointName),
    ScalableDimension: SCALABLE_DIMENSION as 'sagemaker:variant:DesiredInstanceCount',
  };
  await clients.autoScaling.send(new RegisterScalableTargetCommand({
    ...target,
    MinCapacity: scaling.minCapacity,
    MaxCapacity: scaling.maxCapacity,
  }));
  await clients.autoScaling.send(new PutScalingPolicyCommand({
    ...target,
    PolicyName: SCALING_POLICY_NAME,
    PolicyType: 'TargetTrackingScaling',
    TargetTrackingScalingPolicyConfiguration: {
      TargetValue: scaling.targetInvocationsPerInstance,
      PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' },
      ScaleInCooldown: scaling.scaleInCooldownSeconds,
      ScaleOutCooldown: scaling.scaleOutCooldownSeconds,
    },
  }));
}
