/**
 * A small JSON Schema draft-4 validator for the keywords the prediction contract uses, so the handler
 * enforces the very schema API Gateway's request model enforces without bundling a validator library.
 * Unlike a generic validator it reports one problem per bad field, with paths such as `instances[2].sex`.
 */
import type { FieldError } from '../../../contracts/prediction-api';

/** A JSON schema object. */
export type JsonSchema = { readonly [keyword: string]: unknown };

/** Validates a parsed JSON value; an empty list means valid. */
export type Validate = (value: unknown) => FieldError[];

/** Options of {@link compileSchema}. */
export interface CompileOptions {
  /** Field name for problems with the value as a whole (paths are empty there). */
  readonly rootField?: string;
}

const ANNOTATIONS = new Set(['$schema', 'title', 'description']);
const SUPPORTED = new Set([
  ...ANNOTATIONS, 'type', 'enum', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum',
  'required', 'properties', 'additionalProperties', 'items', 'minItems', 'maxItems', 'oneOf',
]);

type Check = (value: unknown, path: string, out: FieldError[]) => void;

/**
 * Compiles a schema once into a validating function. Throws on a keyword it does not implement, so a
 * schema change that the handler would silently ignore (while API Gateway enforces it) fails loudly.
 */
export function compileSchema(schema: JsonSchema, options: CompileOptions = {}): Validate {
  const check = compile(schema, '#');
  const rootField = options.rootField ?? '';
  return (value) => {
    const out: FieldError[] = [];
    check(value, '', out);
    return rootField === '' ? out : out.map((e) => (e.field === '' ? { field: rootField, message: e.message } : e));
  };
}

function compile(schema: JsonSchema, at: string): Check {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    throw new Error(`Schema at ${at} must be an object`);
  }
  for (const keyword of Object.keys(schema)) {
    if (!SUPPORTED.has(keyword)) throw new Error(`Unsupported JSON schema keyword "${keyword}" at ${at}`);
  }
  // Checks run in order; the first that fails ends the checks of this value (one problem per field).
  const valueChecks: Array<(value: unknown) => string | undefined> = [];
  const structural: Check[] = [];

  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type as string[] : [schema.type as string];
    for (const t of types) if (!(t in TYPE_TESTS)) throw new Error(`Unsupported type "${t}" at ${at}`);
    const message = `must be ${types.map((t) => TYPE_NAMES[t]).join(' or ')}`;
    valueChecks.push((v) => (types.some((t) => TYPE_TESTS[t](v)) ? undefined : message));
  }
  if (schema.enum !== undefined) {
    const allowed = schema.enum as unknown[];
    const message = `must be one of ${allowed.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(', ')}`;
    valueChecks.push((v) => (allowed.some((a) => deepEqual(a, v)) ? undefined : message));
  }
  if (schema.minimum !== undefined) {
    const min = schema.minimum as number;
    const exclusive = schema.exclusiveMinimum === true;
    valueChecks.push((v) => (typeof v !== 'number' || (exclusive ? v > min : v >= min)
      ? undefined : `must be ${exclusive ? 'greater than' : 'at least'} ${min}`));
  }
  if (schema.maximum !== undefined) {
    const max = schema.maximum as number;
    const exclusive = schema.exclusiveMaximum === true;
    valueChecks.push((v) => (typeof v !== 'number' || (exclusive ? v < max : v <= max)
      ? undefined : `must be ${exclusive ? 'less than' : 'at most'} ${max}`));
  }
  if (schema.minItems !== undefined) {
    const min = schema.minItems as number;
    valueChecks.push((v) => (!Array.isArray(v) || v.length >= min ? undefined : `must contain at least ${min} item${min === 1 ? '' : 's'}`));
  }
  if (schema.maxItems !== undefined) {
    const max = schema.maxItems as number;
    valueChecks.push((v) => (!Array.isArray(v) || v.length <= max ? undefined : `must contain at most ${max} item${max === 1 ? '' : 's'}`));
  }

  if (schema.required !== undefined) {
    const required = schema.required as string[];
    structural.push((v, path, out) => {
      if (!isObject(v)) return;
      for (const name of required) if (!hasOwn(v, name)) out.push({ field: join(path, name), message: 'is required' });
    });
  }
  const properties = new Map<string, Check>();
  if (schema.properties !== undefined) {
    for (const [name, sub] of Object.entries(schema.properties as Record<string, JsonSchema>)) {
      properties.set(name, compile(sub, `${at}/properties/${name}`));
    }
  }
  const additional = schema.additionalProperties;
  if (properties.size > 0 || (additional !== undefined && additional !== true)) {
    const extra: Check | undefined = additional === false
      ? (_v, path, out) => out.push({ field: path, message: 'is not allowed' })
      : typeof additional === 'object' && additional !== null ? compile(additional as JsonSchema, `${at}/additionalProperties`) : undefined;
    structural.push((v, path, out) => {
      if (!isObject(v)) return;
      for (const name of Object.keys(v)) {
        const sub = properties.get(name) ?? extra;
        sub?.(v[name], join(path, name), out);
      }
    });
  }
  if (schema.items !== undefined) {
    if (Array.isArray(schema.items)) throw new Error(`Tuple "items" is not supported at ${at}`);
    const item = compile(schema.items as JsonSchema, `${at}/items`);
    structural.push((v, path, out) => {
      if (!Array.isArray(v)) return;
      for (let i = 0; i < v.length; i++) item(v[i], `${path}[${i}]`, out);
    });
  }
  if (schema.oneOf !== undefined) {
    const branches = (schema.oneOf as JsonSchema[]).map((b, i) => ({ schema: b, check: compile(b, `${at}/oneOf/${i}`) }));
    structural.push((v, path, out) => oneOf(branches, v, path, out));
  }

  return (value, path, out) => {
    for (const valueCheck of valueChecks) {
      const message = valueCheck(value);
      if (message !== undefined) {
        out.push({ field: path, message });
        return;
      }
    }
    for (const s of structural) s(value, path, out);
  };
}

interface Branch {
  readonly schema: JsonSchema;
  readonly check: Check;
}

function oneOf(branches: Branch[], value: unknown, path: string, out: FieldError[]): void {
  const results = branches.map((b) => {
    const errors: FieldError[] = [];
    b.check(value, path, errors);
    return errors;
  });
  const passing = results.filter((r) => r.length === 0).length;
  if (passing === 1) return;
  if (passing > 1) {
    out.push({ field: path, message: 'matches more than one of the accepted forms' });
    return;
  }
  // None matches: explain against the form the value most resembles (most declared fields present),
  // else the first form, instead of listing every form's complaints.
  let best = 0;
  let bestScore = -1;
  branches.forEach((b, i) => {
    const declared = b.schema.properties as Record<string, unknown> | undefined;
    const score = isObject(value) && declared ? Object.keys(value).filter((k) => hasOwn(declared, k)).length : 0;
    if (score > bestScore) {
      best = i;
      bestScore = score;
    }
  });
  out.push(...results[best]);
}

const TYPE_TESTS: Record<string, (v: unknown) => boolean> = {
  object: isObject,
  array: Array.isArray,
  string: (v) => typeof v === 'string',
  number: (v) => typeof v === 'number',
  integer: (v) => typeof v === 'number' && Number.isInteger(v),
  boolean: (v) => typeof v === 'boolean',
  null: (v) => v === null,
};

const TYPE_NAMES: Record<string, string> = {
  object: 'an object',
  array: 'an array',
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'a boolean',
  null: 'null',
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function hasOwn(o: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key);
}

function join(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}
