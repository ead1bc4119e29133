// The example system as a consumer's app runs it: the compiled library (lib/), plain Node, no cdk-nag.
const { App, RemovalPolicy, Stack } = require('aws-cdk-lib');
const { MlopsAbalonePipeline } = require('../lib');

const app = new App();
const stack = new Stack(app, 'AbaloneMlops');
new MlopsAbalonePipeline(stack, 'Abalone', { mseThreshold: 6, trainingInstanceType: 'ml.m5.large', removalPolicy: RemovalPolicy.DESTROY });
app.synth();
