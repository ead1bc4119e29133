import { randomUUID } from 'node:crypto';
import {
  CodePipelineClient,
  PutJobFailureResultCommand,
  PutJobFailureResultCommandInput,
  PutJobSuccessResultCommand,
  PutJobSuccessResultCommandInput,
} from '@aws-sdk/client-codepipeline';
import type { CodePipelineEvent } from 'aws-lambda';
import { AwsStub, mockClient } from 'aws-sdk-client-mock';

/** Where a job's input artifact is. */
export interface ArtifactLocation {
  readonly bucket: string;
  readonly key: string;
}

/** What differs between invocations. */
export interface JobEventOptions {
  readonly userParameters?: string;
  readonly continuationToken?: string;
  readonly artifact?: ArtifactLocation;
  readonly id?: string;
}

/** A Lambda invoke event as CodePipeline sends it (new job id each time, as for every continuation). */
export function jobEvent(options: JobEventOptions = {}): CodePipelineEvent {
  return {
    'CodePipeline.job': {
      id: options.id ?? randomUUID(),
      accountId: '123456789012',
      data: {
        actionConfiguration: { configuration: { FunctionName: 'action-function', UserParameters: options.userParameters ?? '' } },
        inputArtifacts: options.artifact ? [{
          name: 'DataManifest',
          revision: 'v1',
          location: { type: 'S3', s3Location: { bucketName: options.artifact.bucket, objectKey: options.artifact.key } },
        }] : [],
        outputArtifacts: [],
        artifactCredentials: { accessKeyId: 'ASIAARTIFACT', secretAccessKey: 'artifact-secret', sessionToken: 'artifact-session' },
        ...(options.continuationToken !== undefined ? { continuationToken: options.continuationToken } : {}),
      },
    },
  };
}

/** The CodePipeline job API (moto does not implement it): records the replies. */
export interface FakeCodePipeline {
  readonly client: CodePipelineClient;
  readonly mock: AwsStub<any, any, any>;
  /** Every reply in order. */
  replies(): Array<{ success?: PutJobSuccessResultCommandInput; failure?: PutJobFailureResultCommandInput }>;
  /** The last reply (fails the test if there is none). */
  lastReply(): { success?: PutJobSuccessResultCommandInput; failure?: PutJobFailureResultCommandInput };
  restore(): void;
}

export function fakeCodePipeline(): FakeCodePipeline {
  const client = new CodePipelineClient({ region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
  const mock = mockClient(client);
  const replies: Array<{ success?: PutJobSuccessResultCommandInput; failure?: PutJobFailureResultCommandInput }> = [];
  mock.on(PutJobSuccessResultCommand).callsFake(async (input) => {
    replies.push({ success: input });
    return {};
  });
  mock.on(PutJobFailureResultCommand).callsFake(async (input) => {
    replies.push({ failure: input });
    return {};
  });
  return {
    client,
    mock,
    replies: () => replies,
    lastReply: () => {
      const last = replies[replies.length - 1];
      if (!last) throw new Error('no PutJobSuccessResult / PutJobFailureResult was sent');
      return last;
    },
    restore: () => mock.restore(),
  };
}
