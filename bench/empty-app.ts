// Baseline for the synth benchmark: an app with one empty stack, on the same aws-cdk-lib.
import { App, Stack } from 'aws-cdk-lib';

const app = new App();
new Stack(app, 'Empty');
