import { App } from 'aws-cdk-lib';
import { buildExampleApp } from './abalone-mlops-app';

// The whole system in one stack. Context (-c key=value): approvalEmail; codeConnectionArn with codeRepository
// (<owner>/<repo>) and optionally codeBranch add the code source and the CI stage to the release pipeline.
buildExampleApp(new App());
