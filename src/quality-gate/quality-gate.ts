import { Construct } from 'constructs';
import { PropsValidator } from '../private/validation';
import type { AbaloneTrainingSettings } from '../training-pipeline/definition/abalone-definition';
import { DEFAULT_MSE_THRESHOLD } from '../training-pipeline/definition/defaults';

/** The approval status a newly registered model version gets. */
export enum ModelApprovalStatus {
  /** Waits for a person (or the release pipeline's approval stage) to approve it. */
  PENDING_MANUAL_APPROVAL = 'PendingManualApproval',
  /** Approved on registration: every version that passes the gate may be deployed. */
  APPROVED = 'Approved',
}

/** Properties of {@link QualityGate}. */
export interface QualityGateProps {
  /**
   * Largest mean squared error (in rings², on the held-out test split) a model may have to be registered.
   *
   * The default of the pipeline's `MseThreshold` parameter; a run may override it.
   *
   * @default 6.0
   */
  readonly mseThreshold?: number;

  /**
   * Largest mean absolute error (in rings) a model may have to be registered.
   *
   * Adds a `MaeThreshold` parameter and a condition to the gate.
   *
   * @default - MAE is reported but not gated
   */
  readonly maxMae?: number;

  /**
   * Smallest coefficient of determination (R², at most 1) a model must reach to be registered.
   *
   * Adds an `R2Threshold` parameter and a condition to the gate.
   *
   * @default - R² is reported but not gated
   */
  readonly minR2?: number;

  /**
   * Approval status of a newly registered model version: the default of the `ModelApprovalStatus` parameter.
   *
   * @default ModelApprovalStatus.PENDING_MANUAL_APPROVAL
   */
  readonly modelApprovalStatus?: ModelApprovalStatus;
}

/**
 * The quality gate of the training pipeline: the thresholds a model must meet (MSE, optionally MAE and R²) and
 * the approval status the models that meet them are registered with. The pipeline definition builder turns it
 * into the CheckQuality → RegisterModel | Fail steps; the models go to the training pipeline's model registry.
 */
export class QualityGate extends Construct {
  /** Default MSE threshold (the `MseThreshold` parameter's default). */
  public readonly mseThreshold: number;
  /** Default MAE bound, when MAE is gated. */
  public readonly maxMae?: number;
  /** Default R² bound, when R² is gated. */
  public readonly minR2?: number;
  /** Approval status given to new model versions by default. */
  public readonly modelApprovalStatus: ModelApprovalStatus;

  constructor(scope: Construct, id: string, props: QualityGateProps = {}) {
    super(scope, id);

    const v = new PropsValidator('QualityGate');
    v.number('mseThreshold', props.mseThreshold, { min: 0 })
      .number('maxMae', props.maxMae, { min: 0 })
      .number('minR2', props.minR2, { max: 1 })
      .throwIfInvalid();

    this.mseThreshold = props.mseThreshold ?? DEFAULT_MSE_THRESHOLD;
    this.maxMae = props.maxMae;
    this.minR2 = props.minR2;
    this.modelApprovalStatus = props.modelApprovalStatus ?? ModelApprovalStatus.PENDING_MANUAL_APPROVAL;
  }

  /**
   * The gate's settings as the pipeline definition's spec takes them.
   * @internal
   */
  public _settings(): Pick<AbaloneTrainingSettings, 'mseThreshold' | 'maxMae' | 'minR2' | 'modelApprovalStatus'> {
    return { mseThreshold: this.mseThreshold, maxMae: this.maxMae, minR2: this.minR2, modelApprovalStatus: this.modelApprovalStatus };
  }
}
