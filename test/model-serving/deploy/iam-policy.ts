/**
 * A small IAM evaluator for synthesized identity policies: enough to ask "would this exact request be allowed?".
 *
 * - Action and Resource patterns match with IAM's wildcards: `*` (any run of characters, including none) and `?` (one
 *   character); actions case-insensitively, resources case-sensitively.
 * - Conditions: StringEquals, StringLike, ArnEquals, ArnLike and Bool, each key against the request's context; a key
 *   the request does not carry makes the condition false, as in IAM.
 * - An explicit Deny wins over any Allow; no Allow is an implicit deny.
 * - Anything else (NotAction, NotResource, other operators) throws, so that a test never passes on what the evaluator
 *   does not understand.
 *
 * CloudFormation values are rendered first: `Ref` of a pseudo parameter takes the given environment, other `Ref`s and
 * `Fn::GetAtt` become `<LogicalId>` / `<LogicalId.Attr>` placeholders (which no real ARN matches), `Fn::Join` joins.
 */

/** A request to authorize. */
export interface IamRequest {
  readonly action: string;
  readonly resource: string;
  /** Condition keys the request carries (e.g. `application-autoscaling:service-namespace`). */
  readonly context?: { readonly [key: string]: string };
}

/** Values of the pseudo parameters, e.g. `{ 'AWS::Partition': 'aws', 'AWS::Region': 'eu-west-1', 'AWS::AccountId': '123456789012' }`. */
export type PseudoParameters = { readonly [name: string]: string };

export const TEST_ENVIRONMENT: PseudoParameters = {
  'AWS::Partition': 'aws',
  'AWS::Region': 'eu-west-1',
  'AWS::AccountId': '123456789012',
  'AWS::URLSuffix': 'amazonaws.com',
};

/** A CloudFormation value as the string IAM would see, with `Ref`/`Fn::GetAtt` of resources as placeholders. */
export function render(value: unknown, pseudo: PseudoParameters = TEST_ENVIRONMENT): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  const o = value as { [key: string]: any };
  if (o && typeof o === 'object') {
    if ('Ref' in o) return pseudo[o.Ref] ?? `<${o.Ref}>`;
    if ('Fn::GetAtt' in o) return `<${[o['Fn::GetAtt']].flat().join('.')}>`;
    if ('Fn::Join' in o) return (o['Fn::Join'][1] as unknown[]).map((part) => render(part, pseudo)).join(o['Fn::Join'][0]);
  }
  // Fn::Select, Fn::FindInMap, ...: opaque, matches no real ARN.
  return `<unrendered ${JSON.stringify(value)}>`;
}

/** Whether an IAM pattern (with `*` and `?`) matches a value. */
export function wildcardMatch(pattern: string, value: string, caseInsensitive = false): boolean {
  const source = pattern.split('').map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/]/g, '\\$&'))).join('');
  return new RegExp(`^${source}$`, caseInsensitive ? 'is' : 's').test(value);
}

type Statement = { [key: string]: any };

function conditionsHold(statement: Statement, request: IamRequest, pseudo: PseudoParameters): boolean {
  const conditions = statement.Condition as { [operator: string]: { [key: string]: unknown } } | undefined;
  if (!conditions) return true;
  const context = Object.fromEntries(Object.entries(request.context ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  return Object.entries(conditions).every(([operator, tests]) => Object.entries(tests).every(([key, expected]) => {
    const actual = context[key.toLowerCase()];
    if (actual === undefined) return false;
    const values = [expected].flat().map((v) => render(v, pseudo));
    switch (operator) {
      case 'StringEquals':
      case 'ArnEquals':
        return values.includes(actual);
      case 'StringLike':
      case 'ArnLike':
        return values.some((v) => wildcardMatch(v, actual));
      case 'Bool':
        return values.some((v) => v.toLowerCase() === actual.toLowerCase());
      default:
        throw new Error(`condition operator ${operator} is not supported by this evaluator`);
    }
  }));
}

function applies(statement: Statement, request: IamRequest, pseudo: PseudoParameters): boolean {
  for (const unsupported of ['NotAction', 'NotResource', 'NotPrincipal']) {
    if (unsupported in statement) throw new Error(`${unsupported} is not supported by this evaluator`);
  }
  const actions = [statement.Action].flat().map((a) => render(a, pseudo));
  const resources = [statement.Resource].flat().map((r) => render(r, pseudo));
  return actions.some((a) => wildcardMatch(a, request.action, true))
    && resources.some((r) => wildcardMatch(r, request.resource))
    && conditionsHold(statement, request, pseudo);
}

/** Whether identity-policy statements allow the request. */
export function isAllowed(statements: Statement[], request: IamRequest, pseudo: PseudoParameters = TEST_ENVIRONMENT): boolean {
  if (statements.some((s) => s.Effect === 'Deny' && applies(s, request, pseudo))) return false;
  return statements.some((s) => s.Effect === 'Allow' && applies(s, request, pseudo));
}

/** The requests among `requests` that the statements do not allow, as `action on resource` lines. */
export function deniedRequests(statements: Statement[], requests: IamRequest[], pseudo: PseudoParameters = TEST_ENVIRONMENT): string[] {
  return requests.filter((r) => !isAllowed(statements, r, pseudo)).map((r) => `${r.action} on ${r.resource}`);
}

/** Every statement of the identity policies attached to a role (by the role's logical id) in a template. */
export function roleStatements(template: { [key: string]: any }, roleLogicalId: string): Statement[] {
  const resources = template.Resources as { [id: string]: Statement };
  const attached = Object.values(resources).filter((r) => r.Type === 'AWS::IAM::Policy'
    && (r.Properties.Roles ?? []).some((role: unknown) => (role as { Ref?: string }).Ref === roleLogicalId));
  const inline = (resources[roleLogicalId]?.Properties?.Policies ?? []) as Statement[];
  return [...attached.map((p) => p.Properties.PolicyDocument), ...inline.map((p) => p.PolicyDocument)]
    .flatMap((document: Statement) => document.Statement as Statement[]);
}
