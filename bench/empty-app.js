// Baseline for the synth benchmark: an app with one empty stack, on the same aws-cdk-lib.
const { App, Stack } = require('aws-cdk-lib');

const app = new App();
new Stack(app, 'Empty');
app.synth();
