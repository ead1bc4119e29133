import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { roleStatements } from './support';
import { PredictionStore, PredictionStoreProps } from '../../src/model-serving';
import { addNagChecks, nagFindings } from '../support/nag';

function build(props: PredictionStoreProps = {}, withKey = false): { stack: Stack; store: PredictionStore; template: () => Template } {
  const stack = new Stack(new App(), 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
  addNagChecks(stack);
  const encryptionKey = withKey ? new kms.Key(stack, 'Key', { enableKeyRotation: true }) : undefined;
  const store = new PredictionStore(stack, 'Predictions', { encryptionKey, ...props });
  return { stack, store, template: () => Template.fromStack(stack) };
}

function onlyTable(template: Template): { logicalId: string; resource: any } {
  const tables = template.findResources('AWS::DynamoDB::Table');
  expect(Object.keys(tables)).toHaveLength(1);
  const [logicalId] = Object.keys(tables);
  return { logicalId, resource: tables[logicalId] };
}

describe('PredictionStore on its own', () => {
  test('cdk-nag AwsSolutions: zero unacknowledged findings, with an AWS managed or a customer managed key', () => {
    for (const withKey of [false, true]) {
      const { stack, template } = build({}, withKey);
      template();
      expect(nagFindings(stack)).toEqual([]);
    }
  });

  test('one table keyed by prediction id: on demand, point-in-time recovery, encrypted, TTL on expiresAt, a stream of new images, retained', () => {
    const { stack, store, template } = build();
    const { logicalId, resource } = onlyTable(template());
    expect(logicalId).toMatch(/^Predictions[0-9A-F]{8}$/);
    expect(resource.Properties).toEqual({
      KeySchema: [{ AttributeName: 'predictionId', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'predictionId', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      // New images feed the ground-truth export.
      StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
    });
    expect(resource.DeletionPolicy).toBe('Retain');
    expect(stack.resolve(store.table.tableName)).toEqual({ Ref: logicalId });
    expect(store.retention.toDays()).toBe(90);
    expect(store.encryptionKey).toBeUndefined();
  });

  test('a customer managed key encrypts the table; removalPolicy and retention are the user\'s', () => {
    const { stack, store, template } = build({ removalPolicy: RemovalPolicy.DESTROY, retention: Duration.days(30) }, true);
    const { resource } = onlyTable(template());
    expect(resource.Properties.SSESpecification).toEqual({
      SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: stack.resolve(store.encryptionKey!.keyArn),
    });
    expect(resource.DeletionPolicy).toBe('Delete');
    expect(store.retention.toDays()).toBe(30);
  });

  test('grantRecordPredictions: batch writes and updates on the table; the key only through DynamoDB', () => {
    const { stack, store, template } = build({}, true);
    const writer = new iam.Role(stack, 'Writer', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    const grant = store.grantRecordPredictions(writer);
    expect(grant.success).toBe(true);
    expect(grant.principalStatements).toHaveLength(2);
    expect(roleStatements(template(), 'Writer')).toEqual([
      { Action: ['dynamodb:BatchWriteItem', 'dynamodb:UpdateItem'], Effect: 'Allow', Resource: [stack.resolve(store.table.tableArn)] },
      {
        Sid: 'UseTableKeyThroughDynamoDb',
        Action: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:ReEncryptFrom', 'kms:ReEncryptTo'],
        Effect: 'Allow',
        Resource: stack.resolve(store.encryptionKey!.keyArn),
        Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['dynamodb.eu-west-1.', { Ref: 'AWS::URLSuffix' }]] } } },
      },
    ]);
  });

  test('grantRecordPredictions without a customer managed key grants the table alone', () => {
    const { stack, store, template } = build();
    store.grantRecordPredictions(new iam.Role(stack, 'Writer', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }));
    expect(roleStatements(template(), 'Writer')).toEqual([
      { Action: ['dynamodb:BatchWriteItem', 'dynamodb:UpdateItem'], Effect: 'Allow', Resource: [stack.resolve(store.table.tableArn)] },
    ]);
  });

  test('grantReadPredictions: reads of the table only, no writes', () => {
    const { stack, store, template } = build();
    store.grantReadPredictions(new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }));
    const statements = roleStatements(template(), 'Reader');
    const actions = statements.flatMap((s) => [s.Action].flat());
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan']));
    expect(actions.filter((a) => /Put|Write|Update|Delete/.test(a))).toEqual([]);
    for (const s of statements) expect(s.Resource).toContainEqual(stack.resolve(store.table.tableArn));
  });

  test.each([
    [Duration.hours(12), /^Invalid PredictionStore props:\n- retention is 0.5; it must be a finite number, >= 1, <= 3650$/],
    [Duration.days(3651), /^Invalid PredictionStore props:\n- retention is 3651; it must be a finite number, >= 1, <= 3650$/],
  ])('retention %s fails naming the prop', (retention, message) => {
    expect(() => build({ retention })).toThrow(message);
  });
});
