import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { pipelineInputs, readReference, resolveIntrinsics } from './support';
import { TrainingPipeline } from '../../src/training-pipeline';
import { ProcessingStep, TrainingStep } from '../../src/training-pipeline/definition';
import { SKLEARN_IMAGE, XGBOOST_IMAGE, imageUri, supportedImageRegions } from '../../src/training-pipeline/definition/images';

const images = readReference('images.json');

function dnsSuffix(region: string): string {
  return images.dnsSuffix.overrides[region] ?? images.dnsSuffix.default;
}

function expectedUri(framework: 'sklearn' | 'xgboost', region: string): string {
  const f = images[framework];
  return `${f.registries[region]}.dkr.ecr.${region}.${dnsSuffix(region)}/${f.repository}:${f.tag}`;
}

function stackIn(region?: string): Template {
  const stack = new Stack(new App(), 'Test', region ? { env: { region, account: '123456789012' } } : {});
  new TrainingPipeline(stack, 'Training', pipelineInputs(stack));
  return Template.fromStack(stack);
}

describe('built-in image registries', () => {
  test('are the ones of images.json, for both images', () => {
    expect(SKLEARN_IMAGE.registries).toEqual(images.sklearn.registries);
    expect(XGBOOST_IMAGE.registries).toEqual(images.xgboost.registries);
    expect([SKLEARN_IMAGE.repository, SKLEARN_IMAGE.tag]).toEqual([images.sklearn.repository, images.sklearn.tag]);
    expect([XGBOOST_IMAGE.repository, XGBOOST_IMAGE.tag]).toEqual([images.xgboost.repository, images.xgboost.tag]);
    expect(supportedImageRegions()).toEqual(Object.keys(images.sklearn.registries).sort());
  });

  test('imageUri follows the SDK\'s URI format in every region', () => {
    for (const region of Object.keys(images.sklearn.registries)) {
      expect(imageUri(SKLEARN_IMAGE, region, dnsSuffix(region))).toBe(expectedUri('sklearn', region));
      expect(imageUri(XGBOOST_IMAGE, region, dnsSuffix(region))).toBe(expectedUri('xgboost', region));
    }
    expect(() => imageUri(XGBOOST_IMAGE, 'xx-nowhere-1', 'amazonaws.com')).toThrow(/xx-nowhere-1/);
  });
});

describe('a region-agnostic stack', () => {
  const template = stackIn();
  const json = template.toJSON();
  const [mappingName] = Object.keys(json.Mappings ?? {});
  const body = Object.values<any>(json.Resources).find((r) => r.Type === 'AWS::SageMaker::Pipeline').Properties.PipelineDefinition.PipelineDefinitionBody;

  /** The definition as CloudFormation would render it in a region of a partition. */
  function definitionIn(region: string) {
    const pseudo = (node: any): any => {
      if (Array.isArray(node)) return node.map(pseudo);
      if (node && typeof node === 'object') {
        if (node.Ref === 'AWS::Region') return region;
        if (node.Ref === 'AWS::URLSuffix') return dnsSuffix(region);
        return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, pseudo(v)]));
      }
      return node;
    };
    return JSON.parse(resolveIntrinsics(pseudo(body), json.Mappings));
  }

  test('has one mapping with every region of images.json', () => {
    expect(Object.keys(json.Mappings)).toHaveLength(1);
    const mapping = json.Mappings[mappingName];
    expect(Object.keys(mapping).sort()).toEqual(Object.keys(images.sklearn.registries).sort());
    for (const [region, accounts] of Object.entries<any>(mapping)) {
      expect(accounts).toEqual({ sklearn: images.sklearn.registries[region], xgboost: images.xgboost.registries[region] });
    }
  });

  test.each(Object.keys(images.sklearn.registries))('resolves both image URIs in %s with the partition\'s URL suffix', (region) => {
    const definition = definitionIn(region);
    const [preprocess, train] = definition.Steps as [ProcessingStep, TrainingStep];
    expect(preprocess.Arguments.AppSpecification.ImageUri).toBe(expectedUri('sklearn', region));
    expect(train.Arguments.AlgorithmSpecification.TrainingImage).toBe(expectedUri('xgboost', region));
  });

  test('image URIs are built from the region and URL suffix pseudo parameters, not literals', () => {
    expect(JSON.stringify(body)).toContain('{"Ref":"AWS::URLSuffix"}');
    expect(JSON.stringify(body)).not.toContain('amazonaws.com');
  });
});

describe('a stack with an explicit region', () => {
  test('inlines the region\'s registry account and needs no mapping', () => {
    const template = stackIn('eu-west-1');
    expect(template.toJSON().Mappings).toBeUndefined();
    expect(JSON.stringify(template.toJSON())).toContain('141502667606.dkr.ecr.eu-west-1.');
  });

  test('fails at synth when the region has no image, naming it and the supported regions', () => {
    expect(() => stackIn('mx-central-1')).toThrow(/region mx-central-1.*Supported regions: af-south-1, .*us-west-2\./s);
  });
});
