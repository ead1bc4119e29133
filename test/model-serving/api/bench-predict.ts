/**
 * Per-request overhead of the predict handler (body checks, validation, conversion to CSV rows, answer),
 * with a backend that answers at once, beside a baseline that only parses the body and serializes an answer.
 *
 *   npx ts-node test/model-serving/api/bench-predict.ts [requests]
 */
import { performance } from 'node:perf_hooks';
import { MEASURES } from '../../../src/contracts/abalone-data';
import { ModelBackend, handlePredict, toCsv } from '../../../src/model-serving/runtime/api/predict';

const REQUESTS = Number(process.argv[2] ?? 10_000);
const cors = { allowedOrigins: ['https://app.example.com'] };
const instance = { sex: 'F', lengthMm: 91, diameterMm: 73, heightMm: 19, wholeWeightG: 102.8, shuckedWeightG: 44.9, visceraWeightG: 20.2, shellWeightG: 30 };
const headers = { 'Content-Type': 'application/json', 'Origin': 'https://app.example.com' };

// Builds the CSV like the SageMaker backend, so the conversion is counted.
const backend: ModelBackend = {
  predict: async (rows) => {
    if (toCsv(rows).length === 0) throw new Error('empty');
    return { rings: rows.map(() => 9.87), modelVersion: '3' };
  },
};

async function baseline(body: string): Promise<unknown> {
  const parsed = JSON.parse(body) as Record<string, number>;
  return { statusCode: 200, headers, body: JSON.stringify({ predictionId: 'x', rings: parsed[MEASURES[0].apiField] / 10, ageYears: 11.37, modelVersion: '3' }) };
}

async function measure(name: string, run: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 2_000; i++) await run(i); // warm-up
  const samples = new Float64Array(REQUESTS);
  const start = performance.now();
  for (let i = 0; i < REQUESTS; i++) {
    const t = performance.now();
    await run(i);
    samples[i] = performance.now() - t;
  }
  const total = performance.now() - start;
  samples.sort();
  const us = (ms: number) => `${(ms * 1000).toFixed(1)} µs`;
  console.log(`${name.padEnd(34)} mean ${us(total / REQUESTS)}  p50 ${us(samples[Math.floor(REQUESTS * 0.5)])}  p99 ${us(samples[Math.floor(REQUESTS * 0.99)])}`);
}

async function main(): Promise<void> {
  const single = JSON.stringify(instance);
  const batch = JSON.stringify({ instances: Array.from({ length: 100 }, (_, i) => ({ ...instance, lengthMm: 50 + (i % 100) })) });
  const invalid = JSON.stringify({ ...instance, sex: 'X', lengthMm: -1, extra: true });
  console.log(`predict handler overhead, ${REQUESTS} requests each, Node ${process.version}`);
  await measure('baseline (JSON.parse + stringify)', () => baseline(single));
  await measure('single instance, 200', () => handlePredict({ body: single, headers }, { backend, cors }));
  await measure('invalid single instance, 400', () => handlePredict({ body: invalid, headers }, { backend, cors }));
  await measure('batch of 100, 200', () => handlePredict({ body: batch, headers }, { backend, cors }));
}

void main();
