import { awscdk, javascript } from 'projen';

// aws-cdk-lib 2.257.0 is the newest release that @aws-cdk/integ-runner can read, and cdk-nag v2
// (Aspects + NagSuppressions) works with it; see README "Contributing".
const CDK_VERSION = '2.257.0';

const project = new awscdk.AwsCdkConstructLibrary({
  name: 'cdk-mlops-abalone-pipeline',
  description: 'A complete MLOps system for the UCI Abalone age model as an AWS CDK construct: validated data ingest, a SageMaker pipeline with a quality gate, an auto-scaling endpoint behind a REST API, a React web app, and a local mode that runs it all without an AWS account.',
  author: 'cdk-mlops-abalone-pipeline maintainers',
  authorAddress: 'maintainers@users.noreply.github.com',
  repositoryUrl: 'https://github.com/cdk-mlops-abalone-pipeline/cdk-mlops-abalone-pipeline.git',
  license: 'Apache-2.0',
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  keywords: ['cdk', 'awscdk', 'sagemaker', 'mlops', 'xgboost', 'abalone', 'codepipeline'],

  cdkVersion: CDK_VERSION,
  constructsVersion: '10.5.1',
  jsiiVersion: '~6.0.0',

  // Only the JavaScript target: other jsii targets cannot be packaged on these machines (see README).
  github: false,
  release: false,
  docgen: true,

  jestOptions: {
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    jestConfig: {
      testTimeout: 60_000,
    },
  },

  // Lambda handlers live in each construct's runtime/ folder; their generated construct classes sit beside the
  // constructs (see LAMBDA_FUNCTIONS below), so synth-time code never imports a runtime module.
  lambdaAutoDiscover: false,

  devDeps: [
    'cdk-nag@^2.38.2',
    'aws-cdk@^2.1100.0',
    '@types/aws-lambda',
    '@aws-sdk/client-application-auto-scaling',
    '@aws-sdk/client-cloudwatch',
    '@aws-sdk/client-codepipeline',
    '@aws-sdk/client-lambda',
    '@aws-sdk/client-dynamodb',
    '@aws-sdk/client-s3',
    '@aws-sdk/client-sagemaker',
    '@aws-sdk/client-sagemaker-runtime',
    '@aws-sdk/client-sns',
    'aws-sdk-client-mock',
    'ajv@^8',
    'ajv-draft-04@^1',
  ],

  gitignore: ['/assets/', '/examples/cdk.out/', '.abalone-local/', '/.venv/', '__pycache__/', '*.pyc', '/bench/out/'],
});

// Local mode's command line (src/local/cli.ts).
project.addBins({ 'cdk-mlops-abalone': 'lib/local/cli.js' });

// Each Lambda handler (in a construct's runtime/ folder) and the construct class generated for it (beside the
// construct that uses it). Runtime code may use the AWS SDK, which the Lambda runtime provides: a dev dependency
// here, external in the bundles.
const LAMBDA_FUNCTIONS: Array<[entrypoint: string, constructFile: string]> = [
  ['src/data-ingest/runtime/manifest.lambda.ts', 'src/data-ingest/manifest-function.ts'],
  ['src/model-serving/runtime/api/predict.lambda.ts', 'src/model-serving/predict-function.ts'],
  ['src/model-serving/runtime/deploy/deploy.lambda.ts', 'src/model-serving/deploy-function.ts'],
  ['src/model-serving/runtime/deploy/cleanup.lambda.ts', 'src/model-serving/cleanup-function.ts'],
  ['src/model-serving/runtime/deploy/cleanup-complete.lambda.ts', 'src/model-serving/cleanup-complete-function.ts'],
  ['src/model-serving/runtime/feedback/export.lambda.ts', 'src/model-serving/feedback-export-function.ts'],
  ['src/model-serving/runtime/feedback/training-export.lambda.ts', 'src/model-serving/feedback-training-export-function.ts'],
  ['src/release-pipeline/runtime/train-action.lambda.ts', 'src/release-pipeline/train-action-function.ts'],
  ['src/release-pipeline/runtime/deploy-action.lambda.ts', 'src/release-pipeline/deploy-action-function.ts'],
  ['src/release-pipeline/runtime/acceptance-action.lambda.ts', 'src/release-pipeline/acceptance-action-function.ts'],
  ['src/model-monitoring/runtime/start-monitoring.lambda.ts', 'src/model-monitoring/start-monitoring-function.ts'],
  ['src/model-monitoring/runtime/publish-drift-metrics.lambda.ts', 'src/model-monitoring/publish-drift-metrics-function.ts'],
  ['src/model-monitoring/runtime/retrain-on-drift.lambda.ts', 'src/model-monitoring/retrain-on-drift-function.ts'],
];
for (const [entrypoint, constructFile] of LAMBDA_FUNCTIONS) {
  new awscdk.LambdaFunction(project, {
    entrypoint,
    constructFile,
    cdkDeps: project.cdkDeps,
    runtime: awscdk.LambdaRuntime.NODEJS_24_X,
    bundlingOptions: { externals: ['@aws-sdk/*'], sourcemap: false },
    // SDK v3 reuses connections by default; the variable is only for v2.
    awsSdkConnectionReuse: false,
  });
}
project.eslint?.allowDevDeps('src/**/runtime/**');

// One direction of imports (README "Layout"): contracts <- definition builder <- constructs; contracts (and the
// pure definition builder) <- runtime; local mode -> definition + runtime + contracts. Constructs never load
// runtime code, so the package synthesizes with only its peer dependencies installed.
const CONSTRUCT_FOLDERS = '{data-ingest,model-monitoring,model-serving,release-pipeline,training-pipeline,quality-gate,web-frontend}';
const CONSTRUCT_CODE = ['./src/*.ts', './src/private/**', `./src/${CONSTRUCT_FOLDERS}/*.ts`];
const RUNTIME_CODE = ['./src/*/runtime/**', './src/local/**'];
project.eslint?.addRules({
  'import/no-restricted-paths': ['error', {
    zones: [
      { target: CONSTRUCT_CODE, from: RUNTIME_CODE, message: 'Synth-time code must not load Lambda or local-mode code: move the shared names to src/contracts.' },
      { target: './src/contracts/**', from: ['./src/*.ts', './src/!(contracts)/**'], message: 'Contracts import only other contracts.' },
      { target: './src/training-pipeline/definition/**', from: [...CONSTRUCT_CODE, ...RUNTIME_CODE], message: 'The definition builder is pure: it imports only contracts and itself.' },
      { target: RUNTIME_CODE, from: CONSTRUCT_CODE, message: 'Runtime code must not import constructs (aws-cdk-lib is not there at run time).' },
    ],
  }],
});
project.eslint?.addOverride({
  files: ['src/contracts/**', 'src/training-pipeline/definition/**', 'src/*/runtime/**', 'src/local/**'],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: [{ group: ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs'], message: 'Runtime code and contracts run without aws-cdk-lib.' }],
    }],
  },
});
project.eslint?.addOverride({
  files: ['src/contracts/**', 'src/training-pipeline/definition/**'],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: [{ group: ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs', '@aws-sdk/*'], message: 'Contracts and the definition builder import neither aws-cdk-lib nor the AWS SDK.' }],
    }],
  },
});

// The example app is for users to copy; it is not part of the package.
project.addPackageIgnore('/examples/');
project.addPackageIgnore('/bench/');
project.addPackageIgnore('/build-tools/');
project.addPackageIgnore('/webapp/');
project.addPackageIgnore('/.ci/');
project.addPackageIgnore('__pycache__/');

// Minify the Lambda bundles (the lambda options of projen do not expose esbuild's --minify).
for (const task of project.tasks.all.filter((t) => /^bundle:.*\.lambda$/.test(t.name))) {
  const [bundleStep, ...rest] = task.steps;
  if (rest.length > 0 || bundleStep.execArgs?.[0] !== 'esbuild') throw new Error(`Unexpected bundle task ${task.name}`);
  task.reset();
  task.execArgs([...bundleStep.execArgs, '--minify']);
}

// The ML scripts' copy of the TypeScript contracts (ml/abalone_contract.py), generated before anything is bundled or
// compiled so that every build, example:synth and the package have it; committed, so a build that changes it fails CI.
const pythonContract = project.addTask('generate:python-contract', {
  description: 'Write ml/abalone_contract.py from src/contracts and the pipeline definition\'s names',
  exec: 'ts-node --transpile-only --project build-tools/tsconfig.json build-tools/python-contract.ts',
});
project.preCompileTask.prependSpawn(pythonContract);
project.gitattributes.addAttributes('/ml/abalone_contract.py', 'linguist-generated');

// The web app is its own npm package in webapp/, built into assets/webapp (shipped in the tarball).
const webappInstall = project.addTask('webapp:install', {
  description: 'Install the web app\'s npm packages',
  exec: 'npm ci --prefix webapp --no-audit --no-fund',
  condition: '[ ! -d webapp/node_modules ]',
});
const webappBuild = project.addTask('webapp:build', { description: 'Build the web app into assets/webapp' });
webappBuild.spawn(webappInstall);
webappBuild.exec('npm run build --prefix webapp');
project.preCompileTask.spawn(webappBuild);
const webappTest = project.addTask('test:webapp', { description: 'Web app component tests and browser tests (headless Chromium)' });
webappTest.spawn(webappInstall);
webappTest.exec('npm test --prefix webapp -- --reporter=default --reporter=junit --outputFile.junit=../test-reports/webapp-vitest.xml');
webappTest.exec('npm run e2e --prefix webapp');

// Synthesize the example app offline and print what it made.
const exampleSynth = project.addTask('example:synth', {
  description: 'Synthesize the example app into examples/cdk.out (offline, no AWS credentials) and summarize it',
});
exampleSynth.spawn(project.tasks.tryFind('pre-compile')!);
exampleSynth.exec('rm -rf examples/cdk.out');
exampleSynth.exec('cdk synth --app "ts-node --transpile-only --project examples/tsconfig.json examples/app.ts" --output examples/cdk.out --quiet', {
  env: { CDK_DISABLE_VERSION_CHECK: 'true', CDK_DISABLE_CLI_TELEMETRY: 'true' },
});
exampleSynth.exec('node build-tools/summarize-cloud-assembly.js examples/cdk.out');

// cfn-lint on every template the example synthesizes (W3005/W3010 are CDK's usual noise).
const cfnLint = project.addTask('test:cfn-lint', {
  description: 'Run cfn-lint on the example app\'s synthesized templates',
});
cfnLint.spawn(exampleSynth);
cfnLint.exec('cfn-lint --ignore-checks W3005 W3010 -- examples/cdk.out/*.template.json');

// The ML scripts' tests run with an interpreter that has the SageMaker containers' versions.
const pytest = project.addTask('test:python', {
  description: 'pytest for the ML scripts (scikit-learn 1.2, xgboost 1.7, pandas 1.5)',
});
pytest.exec('bash build-tools/test-python.sh');

// Speed and size figures (README "Budgets"): printed, not asserted.
project.addTask('bench', {
  description: 'Print synth time, bundle sizes, web app size, local pipeline and predict figures, model quality',
  exec: 'node bench/run.mjs',
});

// The package as users install it: packed, installed into a fresh app with the newest and the lowest aws-cdk-lib the
// peer range allows, the README's example synthesized, local mode run from the app (test/consumer/).
const consumerTest = project.addTask('test:consumer', {
  description: 'Install the packed library into a new CDK app: synth with the newest and lowest aws-cdk-lib, run local mode',
});
consumerTest.exec('mkdir -p test-reports');
consumerTest.exec([
  'node --test',
  '--test-reporter=spec --test-reporter-destination=stdout',
  '--test-reporter=junit --test-reporter-destination=test-reports/consumer.xml',
  'test/consumer/consumer.test.mjs',
].join(' '));

project.testTask.spawn(pytest);
project.testTask.spawn(webappTest);
project.testTask.spawn(cfnLint);
project.testTask.spawn(consumerTest);

project.synth();
