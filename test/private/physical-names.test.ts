import { App, Lazy, NestedStack, Stack, Token } from 'aws-cdk-lib';
import { Construct, IConstruct } from 'constructs';
import { ENDPOINT_NAME, namePrefixFor } from '../../src/contracts/endpoint-names';
import { MlopsAbalonePipeline } from '../../src/mlops-abalone-pipeline';
import { generatePhysicalName, PHYSICAL_NAME_HASH_LENGTH, PhysicalNameOptions } from '../../src/private/physical-names';

// The services' name rules.
const SAGEMAKER_PIPELINE_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$/;
const CODEPIPELINE_NAME = /^[A-Za-z0-9.@_-]{1,100}$/;
/** SageMaker's pattern in lower case, without its length (checked against each maxLength). */
const LOWER_CASE_NAME = /^[a-z0-9](-*[a-z0-9])*$/;

// What the constructs ask for.
const ENDPOINT: PhysicalNameOptions = { maxLength: 47, lowerCase: true };
const TRAINING: PhysicalNameOptions = { maxLength: 80, lowerCase: true };
const RELEASE: PhysicalNameOptions = { maxLength: 100 };

/** Nested constructs with these ids under `scope`; returns the innermost. */
function path(scope: Construct, ...ids: string[]): Construct {
  return ids.reduce((parent, id) => new Construct(parent, id), scope);
}

/** The words of a generated name, without its hash. */
function wordsOf(name: string, separator = '-'): string[] {
  const parts = name.split(separator);
  expect(parts.at(-1)).toMatch(new RegExp(`^([0-9a-f]{${PHYSICAL_NAME_HASH_LENGTH}}|[0-9A-F]{${PHYSICAL_NAME_HASH_LENGTH}})$`));
  return parts.slice(0, -1);
}

describe('generatePhysicalName', () => {
  describe('the example app\'s names (stack AbaloneMlops, construct Abalone)', () => {
    const stack = new Stack(new App(), 'AbaloneMlops');
    const mlops = new MlopsAbalonePipeline(stack, 'Abalone', { mseThreshold: 6, trainingInstanceType: 'ml.m5.large' });
    const endpoint = mlops.modelServing.endpointName;
    const training = mlops.trainingPipeline.pipelineName;
    const release = mlops.releasePipeline.pipelineName;

    test('are whole words of the stack name and construct path, then a hash', () => {
      expect(wordsOf(endpoint)).toEqual(['abalone', 'mlops', 'model', 'serving', 'endpoint']);
      expect(wordsOf(training)).toEqual(['abalone', 'mlops', 'abalone', 'training', 'pipeline']);
      expect(wordsOf(release)).toEqual(['Abalone', 'Mlops', 'Abalone', 'Release', 'Pipeline']);
    });

    test('are valid for their services', () => {
      expect(endpoint).toMatch(ENDPOINT_NAME);
      // The deploy logic's model and endpoint config names keep the whole endpoint name.
      expect(namePrefixFor(endpoint)).toBe(`${endpoint}-`);
      expect(training).toMatch(SAGEMAKER_PIPELINE_NAME);
      expect(training.length).toBeLessThanOrEqual(80);
      expect(training).toBe(training.toLowerCase());
      expect(release).toMatch(CODEPIPELINE_NAME);
    });

    test('are deterministic', () => {
      const again = new MlopsAbalonePipeline(new Stack(new App(), 'AbaloneMlops'), 'Abalone', {});
      expect([again.modelServing.endpointName, again.trainingPipeline.pipelineName, again.releasePipeline.pipelineName])
        .toEqual([endpoint, training, release]);
      expect(generatePhysicalName(stack.node.findChild('Abalone'), RELEASE)).toBe(generatePhysicalName(stack.node.findChild('Abalone'), RELEASE));
    });

    test('differ for a second system in the same stack', () => {
      const second = new MlopsAbalonePipeline(stack, 'AbaloneCanary', {});
      expect(second.modelServing.endpointName).not.toBe(endpoint);
      expect(wordsOf(second.modelServing.endpointName)).toEqual(['abalone', 'mlops', 'canary', 'model', 'endpoint']);
    });
  });

  describe('words', () => {
    const stack = new Stack(new App(), 'AbaloneMlops');

    test('come from CamelCase, kebab-case and snake_case ids, acronyms and digits kept whole', () => {
      const name = generatePhysicalName(path(stack, 'MLOpsV2', 'S3Bucket_for-XMLParser'), RELEASE);
      expect(wordsOf(name)).toEqual(['Abalone', 'Mlops', 'ML', 'Ops', 'V2', 'S3', 'Bucket', 'for', 'XML', 'Parser']);
    });

    test('skip Default and Resource ids', () => {
      const name = generatePhysicalName(path(stack, 'Serving', 'Default', 'Endpoint', 'Resource'), ENDPOINT);
      expect(wordsOf(name)).toEqual(['abalone', 'mlops', 'serving', 'endpoint']);
    });

    test('are lower-cased when asked, and keep their case otherwise', () => {
      const scope = path(stack, 'ModelServing');
      expect(wordsOf(generatePhysicalName(scope, { maxLength: 60, lowerCase: true }))).toEqual(['abalone', 'mlops', 'model', 'serving']);
      expect(wordsOf(generatePhysicalName(scope, { maxLength: 60 }))).toEqual(['Abalone', 'Mlops', 'Model', 'Serving']);
      // The hash follows: lower-case hex in a lower-case name, upper-case hex (as in CDK's own names) otherwise.
      expect(generatePhysicalName(scope, { maxLength: 60, lowerCase: true })).toMatch(/-[0-9a-f]{8}$/);
      expect(generatePhysicalName(scope, { maxLength: 60 })).toMatch(/-[0-9A-F]{8}$/);
      expect(generatePhysicalName(scope, { maxLength: 8 })).toMatch(/^[0-9A-F]{8}$/);
    });

    test('that repeat the word before them are left out, across ids and case', () => {
      const name = generatePhysicalName(path(stack, 'MlopsPipeline', 'PipelineStage', 'stage'), RELEASE);
      expect(wordsOf(name)).toEqual(['Abalone', 'Mlops', 'Pipeline', 'Stage']);
    });

    test('take another separator', () => {
      const name = generatePhysicalName(path(new Stack(new App(), 'AbaloneMlops'), 'ModelServing'), { maxLength: 60, separator: '_' });
      expect(name).toMatch(/^Abalone_Mlops_Model_Serving_[0-9A-F]{8}$/);
    });
  });

  describe('shortening', () => {
    const stack = new Stack(new App(), 'AbaloneMlops');
    const serving = path(stack, 'Abalone', 'ModelServing', 'Endpoint');

    test('leaves out a repeated word first, then the path\'s words from the innermost, then the stack name\'s', () => {
      const at = (maxLength: number) => wordsOf(generatePhysicalName(serving, { maxLength, lowerCase: true }));
      expect(at(60)).toEqual(['abalone', 'mlops', 'abalone', 'model', 'serving', 'endpoint']);
      expect(at(47)).toEqual(['abalone', 'mlops', 'model', 'serving', 'endpoint']);
      expect(at(40)).toEqual(['abalone', 'mlops', 'model', 'endpoint']);
      expect(at(32)).toEqual(['abalone', 'mlops', 'endpoint']);
      expect(at(30)).toEqual(['abalone', 'endpoint']);
      expect(at(20)).toEqual(['endpoint']);
      expect(generatePhysicalName(serving, { maxLength: 16, lowerCase: true })).toMatch(/^[0-9a-f]{8}$/);
    });

    test('abbreviates well-known long words before leaving any out, keeping their case', () => {
      const scope = path(stack, 'ProductionEnvironment', 'ApplicationDeployment');
      expect(wordsOf(generatePhysicalName(scope, { maxLength: 100 })))
        .toEqual(['Abalone', 'Mlops', 'Production', 'Environment', 'Application', 'Deployment']);
      expect(wordsOf(generatePhysicalName(scope, { maxLength: 60 })))
        .toEqual(['Abalone', 'Mlops', 'Production', 'Environment', 'App', 'Deployment']);
      expect(wordsOf(generatePhysicalName(scope, { maxLength: 46 })))
        .toEqual(['Abalone', 'Mlops', 'Prod', 'Env', 'App', 'Deployment']);
      expect(wordsOf(generatePhysicalName(scope, { maxLength: 45 })))
        .toEqual(['Abalone', 'Mlops', 'Prod', 'Env', 'App', 'Deploy']);
    });

    test('keeps the stack name\'s first and last words longer than its middle ones', () => {
      const scope = path(new Stack(new App(), 'AbaloneMlopsTeamProd'), 'Endpoint');
      expect(wordsOf(generatePhysicalName(scope, { maxLength: 41 }))).toEqual(['Abalone', 'Mlops', 'Team', 'Prod', 'Endpoint']);
      expect(wordsOf(generatePhysicalName(scope, { maxLength: 40 }))).toEqual(['Abalone', 'Mlops', 'Prod', 'Endpoint']);
      expect(wordsOf(generatePhysicalName(scope, { maxLength: 35 }))).toEqual(['Abalone', 'Prod', 'Endpoint']);
      expect(wordsOf(generatePhysicalName(scope, { maxLength: 29 }))).toEqual(['Abalone', 'Endpoint']);
    });

    test('never cuts a word, and stays valid and within the length, for any path and length', () => {
      const ids = ['Abalone', 'ModelServing', 'EndpointDeployment', 'Default', 'BlueGreenUpdate', 'X', 'Configuration2', 'averyveryverylongsingleword'];
      const allowed = new Set(['abalone', 'mlops', 'model', 'serving', 'endpoint', 'deployment', 'deploy', 'blue', 'green', 'update',
        'x', 'configuration2', 'averyveryverylongsingleword']);
      for (let n = 1; n <= ids.length; n++) {
        const scope = path(new Stack(new App(), 'AbaloneMlops'), ...ids.slice(0, n));
        for (let maxLength = 8; maxLength <= 100; maxLength++) {
          const name = generatePhysicalName(scope, { maxLength, lowerCase: true });
          expect(name.length).toBeLessThanOrEqual(maxLength);
          expect(name).toMatch(LOWER_CASE_NAME);
          for (const word of name.split('-').slice(0, -1)) expect(allowed).toContain(word);
        }
      }
    });
  });

  describe('uniqueness', () => {
    test('two sibling constructs with long similar paths get different names of whole words', () => {
      const stack = new Stack(new App(), 'AbaloneMlopsProductionEnvironment');
      const base = path(stack, 'AbaloneSystem', 'ModelServingLayer', 'BlueGreenEndpointDeployment');
      const a = new Construct(base, 'PrimaryEndpointForTheAbaloneAgeModel');
      const b = new Construct(base, 'PrimaryEndpointForTheAbaloneAgeModel2');
      for (const options of [ENDPOINT, TRAINING, RELEASE]) {
        const [nameA, nameB] = [generatePhysicalName(a, options), generatePhysicalName(b, options)];
        expect(nameA).not.toBe(nameB);
        for (const name of [nameA, nameB]) {
          expect(name.length).toBeLessThanOrEqual(options.maxLength);
          expect(name).toMatch(options.lowerCase ? LOWER_CASE_NAME : CODEPIPELINE_NAME);
        }
      }
      // Shortened to the same words, they still differ by their hashes.
      const [endpointA, endpointB] = [generatePhysicalName(a, ENDPOINT), generatePhysicalName(b, ENDPOINT)];
      expect(wordsOf(endpointA).slice(0, 3)).toEqual(['abalone', 'mlops', 'prod']);
      expect(endpointA.slice(-8)).not.toBe(endpointB.slice(-8));
    });

    test('the same path in stacks of different names gets different names', () => {
      const named = (stackName: string) => generatePhysicalName(path(new Stack(new App(), 'Abalone', { stackName }), 'Endpoint'), ENDPOINT);
      expect(named('abalone-dev')).toMatch(/^abalone-dev-endpoint-[0-9a-f]{8}$/);
      expect(named('abalone-prod')).toMatch(/^abalone-prod-endpoint-[0-9a-f]{8}$/);
    });

    test('the same stack name in different stages (paths) gets different hashes', () => {
      const app = new App();
      const inA = path(new Stack(new Construct(app, 'A'), 'S', { stackName: 'abalone' }), 'Endpoint');
      const inB = path(new Stack(new Construct(app, 'B'), 'S', { stackName: 'abalone' }), 'Endpoint');
      expect(generatePhysicalName(inA, ENDPOINT)).not.toBe(generatePhysicalName(inB, ENDPOINT));
    });
  });

  describe('tokens', () => {
    test('a stack whose name is a token (a nested stack) is named by its construct path', () => {
      const parent = new Stack(new App(), 'AbaloneMlops');
      const nested = new NestedStack(parent, 'Serving');
      expect(Token.isUnresolved(nested.stackName)).toBe(true);
      const name = generatePhysicalName(path(nested, 'Endpoint'), ENDPOINT);
      expect(Token.isUnresolved(name)).toBe(false);
      expect(wordsOf(name)).toEqual(['abalone', 'mlops', 'serving', 'endpoint']);
    });

    test('a construct id that is a token adds no words', () => {
      const stack = new Stack(new App(), 'AbaloneMlops');
      const name = generatePhysicalName(path(stack, Lazy.string({ produce: () => 'x' }), 'Endpoint'), ENDPOINT);
      expect(wordsOf(name)).toEqual(['abalone', 'mlops', 'endpoint']);
    });
  });

  describe('options', () => {
    const scope: IConstruct = path(new Stack(new App(), 'AbaloneMlops'), 'Endpoint');
    test.each([
      [{ maxLength: 7 }, /maxLength .* at least 8; got 7/],
      [{ maxLength: 20.5 }, /maxLength .* whole number/],
      [{ maxLength: 40, separator: '' }, /separator .* non-empty/],
      [{ maxLength: 40, separator: 'x' }, /separator .* no letters or digits; got "x"/],
    ])('%p fails naming the option', (options, message) => {
      expect(() => generatePhysicalName(scope, options)).toThrow(message);
    });
  });
});
