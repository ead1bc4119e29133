/**
 * Types of a SageMaker Model Building Pipeline definition (Version 2020-12-01), limited to what this
 * library emits. Plain JSON: no CDK types, so local mode can run the same document.
 */

/** `{ Get: 'Parameters.X' | 'Steps.X.…' | 'Execution.X' }` */
export interface GetExpression {
  readonly Get: string;
}

/** `Std:Join`: values joined with `On`; numbers and parameters become text. */
export interface JoinExpression {
  readonly 'Std:Join': {
    readonly On: string;
    readonly Values: Expression[];
  };
}

/** `Std:JsonGet` on a processing step's property file. */
export interface JsonGetExpression {
  readonly 'Std:JsonGet': {
    readonly PropertyFile: GetExpression;
    readonly Path: string;
  };
}

/** Any value an argument may take: a literal or an expression evaluated at run time. */
export type Expression = string | number | boolean | GetExpression | JoinExpression | JsonGetExpression;

/** A string-typed argument. */
export type StringValue = string | GetExpression | JoinExpression | JsonGetExpression;

/** An integer-typed argument. */
export type IntegerValue = number | GetExpression;

export type ParameterType = 'String' | 'Integer' | 'Float' | 'Boolean';

export interface PipelineParameter {
  readonly Name: string;
  readonly Type: ParameterType;
  readonly DefaultValue?: string | number | boolean;
  readonly EnumValues?: string[];
}

export interface ProcessingInput {
  readonly InputName: string;
  readonly AppManaged: boolean;
  readonly S3Input: {
    readonly S3Uri: StringValue;
    readonly LocalPath: string;
    readonly S3DataType: 'S3Prefix' | 'ManifestFile';
    readonly S3InputMode: 'File';
    readonly S3DataDistributionType: 'FullyReplicated';
    readonly S3CompressionType: 'None';
  };
}

export interface ProcessingOutput {
  readonly OutputName: string;
  readonly AppManaged: boolean;
  readonly S3Output: {
    readonly S3Uri: StringValue;
    readonly LocalPath: string;
    readonly S3UploadMode: 'EndOfJob';
  };
}

export interface PropertyFile {
  readonly PropertyFileName: string;
  readonly OutputName: string;
  readonly FilePath: string;
}

export interface ProcessingStep {
  readonly Name: string;
  readonly Type: 'Processing';
  readonly Description?: string;
  readonly Arguments: {
    readonly ProcessingResources: {
      readonly ClusterConfig: {
        readonly InstanceType: StringValue;
        readonly InstanceCount: IntegerValue;
        readonly VolumeSizeInGB: number;
        readonly VolumeKmsKeyId?: string;
      };
    };
    readonly AppSpecification: {
      readonly ImageUri: string;
      readonly ContainerEntrypoint: string[];
      readonly ContainerArguments?: StringValue[];
    };
    /** Environment variables of the job's container. */
    readonly Environment?: Record<string, StringValue>;
    readonly RoleArn: string;
    readonly ProcessingInputs: ProcessingInput[];
    readonly ProcessingOutputConfig: {
      readonly Outputs: ProcessingOutput[];
      readonly KmsKeyId?: string;
    };
    readonly NetworkConfig: {
      readonly EnableNetworkIsolation: boolean;
    };
    readonly StoppingCondition: {
      readonly MaxRuntimeInSeconds: number;
    };
  };
  readonly PropertyFiles?: PropertyFile[];
}

export interface TrainingChannel {
  readonly ChannelName: string;
  readonly ContentType: string;
  readonly DataSource: {
    readonly S3DataSource: {
      readonly S3DataType: 'S3Prefix';
      readonly S3Uri: StringValue;
      readonly S3DataDistributionType: 'FullyReplicated';
    };
  };
}

export interface TrainingStep {
  readonly Name: string;
  readonly Type: 'Training';
  readonly Description?: string;
  readonly Arguments: {
    readonly AlgorithmSpecification: {
      readonly TrainingImage: string;
      readonly TrainingInputMode: 'File';
    };
    readonly HyperParameters: Record<string, StringValue>;
    readonly InputDataConfig: TrainingChannel[];
    readonly OutputDataConfig: {
      readonly S3OutputPath: StringValue;
      readonly KmsKeyId?: string;
    };
    readonly ResourceConfig: {
      readonly InstanceType: StringValue;
      readonly InstanceCount: IntegerValue;
      readonly VolumeSizeInGB: number;
      readonly VolumeKmsKeyId?: string;
    };
    readonly RoleArn: string;
    readonly EnableNetworkIsolation: boolean;
    readonly StoppingCondition: {
      readonly MaxRuntimeInSeconds: number;
    };
  };
}

export interface InferenceContainer {
  readonly Image: string;
  readonly ModelDataUrl: StringValue;
  readonly Environment: Record<string, string>;
}

export interface RegisterModelStep {
  readonly Name: string;
  readonly Type: 'RegisterModel';
  readonly Description?: string;
  readonly Arguments: {
    readonly ModelPackageGroupName: string;
    readonly ModelPackageDescription?: string;
    readonly ModelApprovalStatus: StringValue;
    readonly InferenceSpecification: {
      readonly Containers: InferenceContainer[];
      readonly SupportedContentTypes: string[];
      readonly SupportedResponseMIMETypes: string[];
    };
    readonly ModelMetrics: {
      readonly ModelQuality: {
        readonly Statistics: {
          readonly ContentType: string;
          readonly S3Uri: StringValue;
        };
      };
    };
    readonly CustomerMetadataProperties: Record<string, StringValue>;
  };
}

export interface FailStep {
  readonly Name: string;
  readonly Type: 'Fail';
  readonly Description?: string;
  readonly Arguments: {
    readonly ErrorMessage: StringValue;
  };
}

export type ComparisonType = 'LessThanOrEqualTo' | 'GreaterThanOrEqualTo' | 'LessThan' | 'GreaterThan' | 'Equals';

export interface Comparison {
  readonly Type: ComparisonType;
  readonly LeftValue: Expression;
  readonly RightValue: Expression;
}

export interface ConditionStep {
  readonly Name: string;
  readonly Type: 'Condition';
  readonly Description?: string;
  readonly Arguments: {
    /** All must hold for `IfSteps` to run. */
    readonly Conditions: Comparison[];
    readonly IfSteps: PipelineStep[];
    readonly ElseSteps: PipelineStep[];
  };
}

/** How a tuning job walks a range. */
export type ScalingType = 'Auto' | 'Linear' | 'Logarithmic' | 'ReverseLogarithmic';

/** A tuned hyperparameter's range: bounds as strings, as the API takes them. */
export interface ParameterRange {
  readonly Name: string;
  readonly MinValue: string;
  readonly MaxValue: string;
  readonly ScalingType: ScalingType;
}

export interface TuningStep {
  readonly Name: string;
  readonly Type: 'Tuning';
  readonly Description?: string;
  readonly Arguments: {
    readonly HyperParameterTuningJobConfig: {
      readonly Strategy: 'Bayesian' | 'Random';
      readonly ResourceLimits: {
        readonly MaxNumberOfTrainingJobs: number;
        readonly MaxParallelTrainingJobs: number;
      };
      readonly TrainingJobEarlyStoppingType: 'Auto' | 'Off';
      readonly HyperParameterTuningJobObjective: {
        readonly Type: 'Minimize' | 'Maximize';
        readonly MetricName: string;
      };
      readonly ParameterRanges: {
        readonly ContinuousParameterRanges: ParameterRange[];
        readonly IntegerParameterRanges: ParameterRange[];
        readonly CategoricalParameterRanges: { readonly Name: string; readonly Values: string[] }[];
      };
    };
    /** A training job's arguments less the tuned hyperparameters. */
    readonly TrainingJobDefinition: Omit<TrainingStep['Arguments'], 'HyperParameters'> & {
      readonly StaticHyperParameters: Record<string, StringValue>;
    };
  };
}

export type PipelineStep = ProcessingStep | TrainingStep | TuningStep | RegisterModelStep | FailStep | ConditionStep;

export interface PipelineDefinition {
  readonly Version: '2020-12-01';
  readonly Metadata: Record<string, string>;
  readonly Parameters: PipelineParameter[];
  readonly Steps: PipelineStep[];
}
