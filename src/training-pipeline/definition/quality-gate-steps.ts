/**
 * The quality gate's part of the pipeline definition: its parameters and the CheckQuality condition step
 * with RegisterModel (if every bound holds) and a Fail step (otherwise). Pure: no CDK, so local mode runs it.
 */
import { MODEL_APPROVAL_STATUSES } from './defaults';
import { jsonGet, join, parameter } from './expressions';
import { EVALUATION_METRIC_PATHS, PARAMETER_NAMES, STEP_NAMES, CSV_CONTENT_TYPE } from './names';
import {
  Comparison, ConditionStep, Expression, FailStep, GetExpression, InferenceContainer, PipelineParameter, RegisterModelStep,
  StringValue,
} from './types';

/** What the gate is configured with (plain values; the group name may be a deploy-time token). */
export interface QualityGateConfig {
  /** Registered only when MSE on the test split is at most this. */
  readonly mseThreshold: number;
  /** Optional upper bound on MAE. */
  readonly maxMae?: number;
  /** Optional lower bound on R². */
  readonly minR2?: number;
  readonly modelPackageGroupName: string;
  /** Default of the ModelApprovalStatus parameter. */
  readonly modelApprovalStatus: string;
}

/** What the gate needs from the rest of the pipeline. */
export interface QualityGateInputs {
  /** `Steps.<evaluate>.PropertyFiles.<report>` */
  readonly evaluationReport: GetExpression;
  /** S3 URI of evaluation.json, attached to the model package as its model-quality statistics. */
  readonly evaluationReportUri: StringValue;
  /** The inference containers to register, in request order. */
  readonly containers: InferenceContainer[];
  /** Lineage recorded on the model package. */
  readonly customerMetadata: Record<string, StringValue>;
  readonly modelPackageDescription?: string;
}

/** The gate's pipeline parameters: only the bounds that are configured. */
export function qualityGateParameters(config: QualityGateConfig): PipelineParameter[] {
  const params: PipelineParameter[] = [
    { Name: PARAMETER_NAMES.mseThreshold, Type: 'Float', DefaultValue: config.mseThreshold },
  ];
  if (config.maxMae !== undefined) {
    params.push({ Name: PARAMETER_NAMES.maeThreshold, Type: 'Float', DefaultValue: config.maxMae });
  }
  if (config.minR2 !== undefined) {
    params.push({ Name: PARAMETER_NAMES.r2Threshold, Type: 'Float', DefaultValue: config.minR2 });
  }
  params.push({
    Name: PARAMETER_NAMES.modelApprovalStatus,
    Type: 'String',
    DefaultValue: config.modelApprovalStatus,
    EnumValues: [...MODEL_APPROVAL_STATUSES],
  });
  return params;
}

interface Bound {
  readonly label: string;
  readonly metric: Expression;
  readonly threshold: Expression;
  readonly type: 'LessThanOrEqualTo' | 'GreaterThanOrEqualTo';
}

function bounds(config: QualityGateConfig, report: GetExpression): Bound[] {
  const result: Bound[] = [{
    label: 'MSE',
    metric: jsonGet(report, EVALUATION_METRIC_PATHS.mse),
    threshold: parameter(PARAMETER_NAMES.mseThreshold),
    type: 'LessThanOrEqualTo',
  }];
  if (config.maxMae !== undefined) {
    result.push({
      label: 'MAE',
      metric: jsonGet(report, EVALUATION_METRIC_PATHS.mae),
      threshold: parameter(PARAMETER_NAMES.maeThreshold),
      type: 'LessThanOrEqualTo',
    });
  }
  if (config.minR2 !== undefined) {
    result.push({
      label: 'R2',
      metric: jsonGet(report, EVALUATION_METRIC_PATHS.r2),
      threshold: parameter(PARAMETER_NAMES.r2Threshold),
      type: 'GreaterThanOrEqualTo',
    });
  }
  return result;
}

/** "MSE 7.31 > threshold 6.0" with one bound; every metric next to its bound with several. */
function failureMessage(all: Bound[]): StringValue {
  if (all.length === 1) {
    const only = all[0];
    return join('', [`Quality gate failed: ${only.label} `, only.metric, ' > threshold ', only.threshold]);
  }
  const values: Expression[] = ['Quality gate failed (every bound must hold):'];
  all.forEach((b, i) => {
    values.push(`${i === 0 ? ' ' : ', '}${b.label} `, b.metric, b.type === 'LessThanOrEqualTo' ? ' (max ' : ' (min ', b.threshold, ')');
  });
  return join('', values);
}

/** CheckQuality: every configured bound holds → RegisterModel, else FailQualityGate. */
export function qualityGateStep(config: QualityGateConfig, inputs: QualityGateInputs): ConditionStep {
  const all = bounds(config, inputs.evaluationReport);
  const conditions: Comparison[] = all.map((b) => ({ Type: b.type, LeftValue: b.metric, RightValue: b.threshold }));

  const register: RegisterModelStep = {
    Name: STEP_NAMES.register,
    Type: 'RegisterModel',
    Arguments: {
      ModelPackageGroupName: config.modelPackageGroupName,
      ...(inputs.modelPackageDescription ? { ModelPackageDescription: inputs.modelPackageDescription } : {}),
      ModelApprovalStatus: parameter(PARAMETER_NAMES.modelApprovalStatus),
      InferenceSpecification: {
        Containers: inputs.containers,
        SupportedContentTypes: [CSV_CONTENT_TYPE],
        SupportedResponseMIMETypes: [CSV_CONTENT_TYPE],
      },
      ModelMetrics: {
        ModelQuality: {
          Statistics: { ContentType: 'application/json', S3Uri: inputs.evaluationReportUri },
        },
      },
      CustomerMetadataProperties: inputs.customerMetadata,
    },
  };

  const fail: FailStep = {
    Name: STEP_NAMES.fail,
    Type: 'Fail',
    Arguments: { ErrorMessage: failureMessage(all) },
  };

  return {
    Name: STEP_NAMES.checkQuality,
    Type: 'Condition',
    Arguments: {
      Conditions: conditions,
      IfSteps: [register],
      ElseSteps: [fail],
    },
  };
}
