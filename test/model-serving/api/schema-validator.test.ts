import Ajv from 'ajv-draft-04';
import { INSTANCE, MEASURE_FIELDS, prng, randomInstance } from './fixtures';
import { MAX_RINGS, MEASURES } from '../../../src/contracts/abalone-data';
import {
  FEEDBACK_REQUEST_SCHEMA,
  MAX_BATCH_INSTANCES,
  PREDICTION_INSTANCE_SCHEMA,
  PREDICTION_REQUEST_SCHEMA,
  humanMaximum,
} from '../../../src/contracts/prediction-api';
import { compileSchema } from '../../../src/model-serving/runtime/api/schema-validator';

const validateRequest = compileSchema(PREDICTION_REQUEST_SCHEMA, { rootField: 'body' });

describe('compileSchema keywords', () => {
  test('accepts a valid single instance and a valid batch', () => {
    expect(validateRequest(INSTANCE)).toEqual([]);
    expect(validateRequest({ instances: [INSTANCE, { ...INSTANCE, sex: 'I' }] })).toEqual([]);
  });

  test.each(['sex', ...MEASURE_FIELDS])('reports a missing %s by name', (field) => {
    const { [field]: _omitted, ...rest } = INSTANCE as Record<string, unknown>;
    expect(validateRequest(rest)).toEqual([{ field, message: 'is required' }]);
  });

  test.each(MEASURE_FIELDS)('reports %s of the wrong type, below 0 and above its maximum', (field) => {
    expect(validateRequest({ ...INSTANCE, [field]: '12' })).toEqual([{ field, message: 'must be a number' }]);
    expect(validateRequest({ ...INSTANCE, [field]: null })).toEqual([{ field, message: 'must be a number' }]);
    expect(validateRequest({ ...INSTANCE, [field]: -0.1 })).toEqual([{ field, message: 'must be at least 0' }]);
    const max: number = (PREDICTION_INSTANCE_SCHEMA.properties as Record<string, any>)[field].maximum;
    expect(validateRequest({ ...INSTANCE, [field]: max })).toEqual([]);
    expect(validateRequest({ ...INSTANCE, [field]: max + 0.001 })).toEqual([{ field, message: `must be at most ${max}` }]);
  });

  test('reports a sex outside M, F, I and of the wrong type', () => {
    expect(validateRequest({ ...INSTANCE, sex: 'm' })).toEqual([{ field: 'sex', message: 'must be one of M, F, I' }]);
    expect(validateRequest({ ...INSTANCE, sex: 1 })).toEqual([{ field: 'sex', message: 'must be a string' }]);
  });

  test('reports each extra field, and every bad field once', () => {
    expect(validateRequest({ ...INSTANCE, colour: 'red', rings: 9 })).toEqual([
      { field: 'colour', message: 'is not allowed' },
      { field: 'rings', message: 'is not allowed' },
    ]);
    const errors = validateRequest({ ...INSTANCE, sex: 'X', lengthMm: -1, heightMm: 'tall', shellWeightG: undefined, extra: 1 });
    expect(errors.map((e) => e.field).sort()).toEqual(['extra', 'heightMm', 'lengthMm', 'sex', 'shellWeightG']);
  });

  test('paths inside a batch name the instance', () => {
    const instances = [INSTANCE, INSTANCE, { ...INSTANCE, sex: 'Q' }, { ...INSTANCE, lengthMm: 1e6, foo: true }];
    expect(validateRequest({ instances })).toEqual([
      { field: 'instances[2].sex', message: 'must be one of M, F, I' },
      { field: 'instances[3].lengthMm', message: `must be at most ${humanMaximum('length')}` },
      { field: 'instances[3].foo', message: 'is not allowed' },
    ]);
  });

  test('bounds the batch size with one error, not one per instance', () => {
    const instances = Array.from({ length: MAX_BATCH_INSTANCES + 1 }, () => ({}));
    expect(validateRequest({ instances })).toEqual([{ field: 'instances', message: `must contain at most ${MAX_BATCH_INSTANCES} items` }]);
    expect(validateRequest({ instances: [] })).toEqual([{ field: 'instances', message: 'must contain at least 1 item' }]);
    expect(validateRequest({ instances: {} })).toEqual([{ field: 'instances', message: 'must be an array' }]);
  });

  test('explains a value against the form it resembles', () => {
    expect(validateRequest({ instances: [INSTANCE], lengthMm: 3 })).toEqual([
      ...['sex', ...MEASURE_FIELDS.filter((f) => f !== 'lengthMm')].map((field) => ({ field, message: 'is required' })),
      { field: 'instances', message: 'is not allowed' },
    ]);
    expect(validateRequest({ instances: [INSTANCE], extra: 3 })).toEqual([{ field: 'extra', message: 'is not allowed' }]);
  });

  test('names the body for problems with the value as a whole', () => {
    for (const value of [[], 'text', 3, null, true]) {
      expect(validateRequest(value)).toEqual([{ field: 'body', message: 'must be an object' }]);
    }
  });

  test('feedback schema: integer rings within bounds', () => {
    const validate = compileSchema(FEEDBACK_REQUEST_SCHEMA);
    expect(validate({ actualRings: 9 })).toEqual([]);
    expect(validate({ actualRings: 9.5 })).toEqual([{ field: 'actualRings', message: 'must be an integer' }]);
    expect(validate({ actualRings: 0 })).toEqual([{ field: 'actualRings', message: 'must be at least 1' }]);
    expect(validate({ actualRings: MAX_RINGS + 1 })).toEqual([{ field: 'actualRings', message: `must be at most ${MAX_RINGS}` }]);
    expect(validate({})).toEqual([{ field: 'actualRings', message: 'is required' }]);
  });

  test('supports the rest of the draft-4 subset: exclusive bounds, type lists, nested additionalProperties schemas', () => {
    const validate = compileSchema({
      type: 'object',
      properties: { n: { type: ['integer', 'null'], minimum: 0, exclusiveMinimum: true, maximum: 10, exclusiveMaximum: true } },
      additionalProperties: { type: 'boolean' },
    });
    expect(validate({ n: null, x: true })).toEqual([]);
    expect(validate({ n: 0 })).toEqual([{ field: 'n', message: 'must be greater than 0' }]);
    expect(validate({ n: 10 })).toEqual([{ field: 'n', message: 'must be less than 10' }]);
    expect(validate({ n: 'a' })).toEqual([{ field: 'n', message: 'must be an integer or null' }]);
    expect(validate({ x: 1 })).toEqual([{ field: 'x', message: 'must be a boolean' }]);
  });

  test('a value matching two oneOf forms is invalid', () => {
    const validate = compileSchema({ oneOf: [{ type: 'number' }, { type: 'integer' }] });
    expect(validate(1.5)).toEqual([]);
    expect(validate(2)).toEqual([{ field: '', message: 'matches more than one of the accepted forms' }]);
  });

  test('refuses keywords it does not implement, so the handler never silently enforces less than API Gateway', () => {
    expect(() => compileSchema({ type: 'string', pattern: '^a' })).toThrow(/Unsupported JSON schema keyword "pattern" at #/);
    expect(() => compileSchema({ properties: { a: { $ref: '#/x' } } })).toThrow(/"\$ref" at #\/properties\/a/);
    expect(() => compileSchema({ type: 'date' })).toThrow(/Unsupported type "date"/);
    expect(() => compileSchema({ items: [{ type: 'string' }] })).toThrow(/Tuple "items"/);
  });

  test('keys such as __proto__ or constructor are extra fields, not inherited ones', () => {
    expect(validateRequest(JSON.parse(`{"__proto__": 1, ${JSON.stringify(INSTANCE).slice(1)}`))).toEqual([{ field: '__proto__', message: 'is not allowed' }]);
    expect(validateRequest({ ...INSTANCE, constructor: 1 })).toEqual([{ field: 'constructor', message: 'is not allowed' }]);
  });
});

/** Random values of every JSON type, including near-miss values. */
function randomValue(random: () => number, depth = 0): unknown {
  const choice = Math.floor(random() * (depth > 1 ? 8 : 10));
  switch (choice) {
    case 0: return null;
    case 1: return random() < 0.5;
    case 2: return ['M', 'F', 'I', 'm', '', 'X', '12'][Math.floor(random() * 7)];
    case 3: return Math.floor(random() * 120) - 10;
    case 4: return (random() - 0.1) * 1200;
    case 5: return [0, -0, 1, 100, 101, 250, 250.001, 1000, 1e-9, -1e-9][Math.floor(random() * 10)];
    case 6: return Number.MAX_SAFE_INTEGER;
    case 7: return 'text';
    case 8: return Array.from({ length: Math.floor(random() * 3) }, () => randomValue(random, depth + 1));
    default: return { [['a', 'sex', 'lengthMm', 'instances'][Math.floor(random() * 4)]]: randomValue(random, depth + 1) };
  }
}

const COLUMN_OF: Record<string, string> = Object.fromEntries(MEASURES.map((m) => [m.apiField, m.column]));

/** Applies 1-3 random mutations to a copy of a valid request. */
function mutate(random: () => number, value: any): any {
  const copy = JSON.parse(JSON.stringify(value));
  const mutations = 1 + Math.floor(random() * 3);
  for (let m = 0; m < mutations; m++) {
    const picked: any = Array.isArray(copy.instances) ? copy.instances[Math.floor(random() * copy.instances.length)] ?? copy : copy;
    const target: any = typeof picked === 'object' && picked !== null && !Array.isArray(picked) ? picked : copy;
    const fields = ['sex', ...MEASURE_FIELDS];
    const field = fields[Math.floor(random() * fields.length)];
    switch (Math.floor(random() * 7)) {
      case 0: delete target[field]; break;
      case 1: target[field] = randomValue(random); break;
      case 2: target[['extra', 'rings', 'instances', 'Sex'][Math.floor(random() * 4)]] = randomValue(random); break;
      case 3: target[field] = field === 'sex' ? 'F' : (random() < 0.5 ? -random() : humanMaximum(COLUMN_OF[field]) + random() * 0.01); break;
      case 4: if (Array.isArray(copy.instances)) copy.instances = copy.instances.slice(0, Math.floor(random() * 2)); break;
      case 5:
        if (Array.isArray(copy.instances)) {
          while (copy.instances.length <= MAX_BATCH_INSTANCES) copy.instances.push(copy.instances[0] ?? {});
        }
        break;
      default: return random() < 0.5 ? randomValue(random) : copy;
    }
  }
  return copy;
}

describe('agreement with a real draft-4 validator (ajv-draft-04)', () => {
  const ajv = new Ajv({ allErrors: true });
  const cases: Array<[string, object]> = [['PREDICTION_REQUEST_SCHEMA', PREDICTION_REQUEST_SCHEMA], ['FEEDBACK_REQUEST_SCHEMA', FEEDBACK_REQUEST_SCHEMA]];

  test.each(cases)('%s: same verdict on 6000 generated inputs', (_name, schema) => {
    const reference = ajv.compile(schema);
    const ours = compileSchema(schema as Record<string, unknown>);
    const random = prng(20261126);
    let valid = 0;
    const disagreements: unknown[] = [];
    for (let i = 0; i < 6000; i++) {
      let input: unknown;
      if (schema === FEEDBACK_REQUEST_SCHEMA) {
        const rings = random() < 0.5 ? Math.floor(random() * (MAX_RINGS + 2)) : randomValue(random);
        input = random() < 0.85 ? { actualRings: rings } : randomValue(random);
        if (random() < 0.2 && typeof input === 'object' && input !== null) (input as any).extra = 1;
      } else {
        const base = random() < 0.5
          ? randomInstance(random)
          : { instances: Array.from({ length: 1 + Math.floor(random() * 5) }, () => randomInstance(random)) };
        input = random() < 0.25 ? base : mutate(random, base);
      }
      const expected = reference(input) as boolean;
      const actual = ours(input).length === 0;
      if (expected) valid++;
      if (expected !== actual) disagreements.push(input);
    }
    expect(disagreements.slice(0, 3)).toEqual([]);
    // The generator must exercise both verdicts.
    expect(valid).toBeGreaterThan(500);
    expect(6000 - valid).toBeGreaterThan(500);
  });
});
