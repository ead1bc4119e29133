import { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { exportFeedback } from './export';
import { readFeedbackExportConfig } from '../../../contracts/feedback-export';

const config = readFeedbackExportConfig(process.env);
const s3 = new S3Client({});

export async function handler(event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> {
  const result = await exportFeedback(event, {
    s3,
    bucketName: config.bucketName,
    kmsKeyArn: config.kmsKeyArn,
    log: (level, message, detail) => console[level](message, detail ?? {}),
  });
  const { written, skipped, superseded } = result;
  console.info('Exported feedback', { records: event.Records.length, written, skipped, superseded, failed: result.batchItemFailures.length });
  return { batchItemFailures: result.batchItemFailures };
}
