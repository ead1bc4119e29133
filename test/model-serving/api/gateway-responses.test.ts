/**
 * Every answer API Gateway writes itself must be valid JSON whatever the error says. Gateway response templates are
 * not run by VTL: API Gateway only substitutes variables into them, and `$context.error.messageString` is the
 * message already quoted as a JSON string (API Gateway Developer Guide,
 * "x-amazon-apigateway-gateway-responses.responseTemplates"). So each template is rendered here the same way with
 * hostile values and parsed.
 */
import { servingTemplate } from './serving-template';
import { ApiAuthorization, ModelServingProps } from '../../../src/model-serving';

/** A variable reference as gateway response templates write it, e.g. `$context.error.messageString`. */
const VARIABLE = /\$[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)+/g;

/** Variables whose value API Gateway substitutes already quoted (a JSON string literal). */
const QUOTED = new Set(['$context.error.messageString']);

/** What an error message, a header or a caller-controlled value may hold. */
const HOSTILE = [
  '[object has missing required properties (["sex"])]',
  '"',
  '\\',
  'trailing backslash \\',
  'line one\nline two\r\n\ttabbed',
  '"}',
  '"},"injected":{"x":"',
  '}]}',
  'é 中文 🐚 \u2028\u2029',
  '\u0000\u001f',
  '',
  '$context.error.messageString',
];

/** Renders a template as API Gateway does: plain substitution, quoted only where API Gateway quotes. */
function render(template: string, value: string): string {
  return template.replace(VARIABLE, (name) => (QUOTED.has(name) ? JSON.stringify(value) : value));
}

interface FoundTemplate {
  readonly where: string;
  readonly text: string;
}

/** Every response template of the synthesized API, split into those API Gateway only substitutes and those VTL runs. */
function responseTemplates(props: Partial<ModelServingProps>): { substituted: FoundTemplate[]; vtl: FoundTemplate[] } {
  const resources = servingTemplate(props).toJSON().Resources as Record<string, { Type: string; Properties?: any }>;
  const substituted: FoundTemplate[] = [];
  const vtl: FoundTemplate[] = [];
  const unclassified: string[] = [];
  for (const [id, resource] of Object.entries(resources)) {
    const found: Array<{ path: string; templates: Record<string, unknown> }> = [];
    collect(resource.Properties ?? {}, id, found);
    for (const { path, templates } of found) {
      for (const [contentType, text] of Object.entries(templates)) {
        expect({ where: `${path}.${contentType}`, type: typeof text }).toEqual({ where: `${path}.${contentType}`, type: 'string' });
        const entry = { where: `${path}.${contentType}`, text: text as string };
        if (resource.Type === 'AWS::ApiGateway::GatewayResponse' && path === `${id}.ResponseTemplates`) {
          substituted.push(entry);
        } else if (resource.Type === 'AWS::ApiGateway::Method' && /\.Integration\.(IntegrationResponses\.\d+\.ResponseTemplates|RequestTemplates)$/.test(path)) {
          // Integration mapping templates are VTL. The only ones are the CORS preflight's mock integration; the
          // Lambda proxy integrations answer with the function's own JSON.
          expect({ where: entry.where, integration: resource.Properties.Integration.Type }).toEqual({ where: entry.where, integration: 'MOCK' });
          vtl.push(entry);
        } else {
          unclassified.push(entry.where);
        }
      }
    }
  }
  // A template somewhere else (a method response, an OpenAPI body) needs its own rule here first.
  expect(unclassified).toEqual([]);
  return { substituted, vtl };
}

function collect(value: unknown, path: string, out: Array<{ path: string; templates: Record<string, unknown> }>): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => collect(v, `${path}.${i}`, out));
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, v] of Object.entries(value)) {
      if (/Templates$/.test(key)) out.push({ path: `${path}.${key}`, templates: v as Record<string, unknown> });
      else collect(v, `${path}.${key}`, out);
    }
  }
}

const CONFIGURATIONS: Array<[string, Partial<ModelServingProps>]> = [
  ['defaults (no CORS)', {}],
  ['one allowed origin', { allowedOrigins: ['https://app.example.com'] }],
  ['several allowed origins', { allowedOrigins: ['https://app.example.com', 'http://localhost:5173'] }],
  ['any origin', { allowedOrigins: ['*'] }],
  ['IAM authorization', { authorization: ApiAuthorization.IAM, allowedOrigins: ['https://app.example.com'] }],
  ['API key authorization', { authorization: ApiAuthorization.API_KEY }],
  ['no feedback route', { feedback: false, allowedOrigins: ['https://app.example.com'] }],
];

describe.each(CONFIGURATIONS)('gateway responses, %s', (_name, props) => {
  const { substituted, vtl } = responseTemplates(props);

  test('there are gateway response templates to check, and each uses only variables the renderer knows', () => {
    expect(substituted.length).toBeGreaterThanOrEqual(3);
    for (const { where, text } of substituted) {
      // Anything else starting with `$` would be a variable form this test does not substitute.
      expect({ where, rest: text.replace(VARIABLE, '').includes('$') }).toEqual({ where, rest: false });
      expect({ where, variables: [...new Set(text.match(VARIABLE) ?? [])] }).toEqual({ where, variables: ['$context.error.messageString'] });
    }
  });

  test.each(HOSTILE.map((v) => [JSON.stringify(v), v]))('render to valid JSON carrying the message %s unchanged', (_label, value) => {
    for (const { where, text } of substituted) {
      let parsed: any;
      try {
        parsed = JSON.parse(render(text, value));
      } catch (e) {
        throw new Error(`${where} renders invalid JSON for message ${JSON.stringify(value)}: ${render(text, value)}`);
      }
      // The contract's error shape: a message, and per-field errors on a 400.
      expect(typeof parsed.message).toBe('string');
      const messages = [parsed.message, ...(parsed.errors ?? []).map((e: any) => e.message)];
      expect({ where, carried: messages.includes(value) }).toEqual({ where, carried: true });
      for (const error of parsed.errors ?? []) expect(Object.keys(error).sort()).toEqual(['field', 'message']);
    }
  });

  test('VTL templates belong to the CORS preflight alone', () => {
    const origins = props.allowedOrigins ?? [];
    expect(vtl.length > 0).toBe(origins.length > 0);
  });
});

describe('the renderer', () => {
  test('catches a variable that is not quoted by API Gateway placed inside a JSON string (the template this API once had)', () => {
    const unsafe = '{"message":"The request body does not match the prediction API contract.",'
      + '"errors":[{"field":"body","message":"$context.error.validationErrorString"}]}';
    expect(() => JSON.parse(render(unsafe, '[object has missing required properties (["sex"])]'))).toThrow(SyntaxError);
  });

  test('catches the quoted variable wrapped in quotes a second time', () => {
    expect(() => JSON.parse(render('{"message":"$context.error.messageString"}', 'Forbidden'))).toThrow(SyntaxError);
  });

  test('substitutes every occurrence', () => {
    expect(JSON.parse(render('[$context.error.messageString,$context.error.messageString]', 'a"b'))).toEqual(['a"b', 'a"b']);
  });
});
