import { Expression, GetExpression, JoinExpression, JsonGetExpression } from './types';

/** Execution variables SageMaker resolves per run. */
export const EXECUTION_VARIABLES = [
  'PipelineExecutionId',
  'PipelineExecutionArn',
  'PipelineName',
  'PipelineArn',
  'StartDateTime',
  'CurrentDateTime',
  'TrainingJobName',
  'ProcessingJobName',
] as const;

export type ExecutionVariable = typeof EXECUTION_VARIABLES[number];

/** `{ Get: 'Parameters.<name>' }` */
export function parameter(name: string): GetExpression {
  return { Get: `Parameters.${name}` };
}

/** `{ Get: 'Execution.<variable>' }` */
export function execution(variable: ExecutionVariable): GetExpression {
  return { Get: `Execution.${variable}` };
}

/** A property of an earlier step, e.g. `stepProperty('Train', 'ModelArtifacts.S3ModelArtifacts')`. */
export function stepProperty(stepName: string, path: string): GetExpression {
  return { Get: `Steps.${stepName}.${path}` };
}

/** The S3 URI of a processing step's named output. */
export function processingOutputUri(stepName: string, outputName: string): GetExpression {
  return stepProperty(stepName, `ProcessingOutputConfig.Outputs['${outputName}'].S3Output.S3Uri`);
}

/** The `model.tar.gz` a training step wrote. */
export function trainingModelArtifacts(stepName: string): GetExpression {
  return stepProperty(stepName, 'ModelArtifacts.S3ModelArtifacts');
}

/** A processing step's property file, for {@link jsonGet}. */
export function propertyFile(stepName: string, propertyFileName: string): GetExpression {
  return stepProperty(stepName, `PropertyFiles.${propertyFileName}`);
}

/** `Std:Join`. */
export function join(on: string, values: Expression[]): JoinExpression {
  return { 'Std:Join': { On: on, Values: values } };
}

/** A number-typed value as text, the way SageMaker expects it in string fields (hyperparameters, arguments). */
export function asText(value: Expression): JoinExpression {
  return join('', [value]);
}

/** `Std:JsonGet` of a JSON path (dot-separated) in a property file. */
export function jsonGet(file: GetExpression, path: string): JsonGetExpression {
  return { 'Std:JsonGet': { PropertyFile: file, Path: path } };
}
