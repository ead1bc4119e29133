import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { FeedbackTrainingExportReport, exportFeedbackAsTrainingData } from './training-export';
import { readFeedbackTrainingExportConfig } from '../../../contracts/feedback-training-export';

const config = readFeedbackTrainingExportConfig(process.env);
const dynamodb = new DynamoDBClient({});
const s3 = new S3Client({});

/** Runs on the schedule; the event carries nothing it needs. */
export async function handler(): Promise<FeedbackTrainingExportReport> {
  const report = await exportFeedbackAsTrainingData({
    ...config,
    dynamodb,
    s3,
    log: (level, message, detail) => console[level](message, detail ?? {}),
  });
  const count = (outcome: string) => report.files.filter((f) => f.outcome === outcome).length;
  console.info('Exported feedback as training data', {
    predictionsWithFeedback: report.predictionsWithFeedback,
    rows: report.rows,
    dropped: report.dropped,
    droppedReasons: report.droppedReasons,
    written: report.files.filter((f) => f.outcome === 'written').map((f) => f.key),
    unchanged: count('unchanged'),
    closed: count('closed'),
  });
  return report;
}
