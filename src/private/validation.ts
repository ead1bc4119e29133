import { Token } from 'aws-cdk-lib';

/**
 * Collects prop problems so that a constructor reports all of them in one error, each naming the prop,
 * the value given and what is allowed. Unresolved tokens are skipped: they are only known at deploy time.
 */
export class PropsValidator {
  private readonly problems: string[] = [];

  constructor(private readonly constructName: string) {}

  /** Records a problem unless `ok`. */
  public check(ok: boolean, prop: string, value: unknown, allowed: string): this {
    if (!ok) this.problems.push(`${prop} is ${describe(value)}; ${allowed}`);
    return this;
  }

  /** A finite number within bounds (inclusive unless stated), optionally an integer. */
  public number(prop: string, value: number | undefined, rule: NumberRule): this {
    if (value === undefined || Token.isUnresolved(value)) return this;
    const allowed = describeRule(rule);
    const ok = Number.isFinite(value)
      && (rule.min === undefined || value >= rule.min)
      && (rule.greaterThan === undefined || value > rule.greaterThan)
      && (rule.max === undefined || value <= rule.max)
      && (!rule.integer || Number.isInteger(value));
    return this.check(ok, prop, value, allowed);
  }

  /** A string matching a pattern. */
  public pattern(prop: string, value: string | undefined, pattern: RegExp, allowed: string): this {
    if (value === undefined || Token.isUnresolved(value)) return this;
    return this.check(pattern.test(value), prop, value, allowed);
  }

  /** A SageMaker ML instance type such as `ml.m5.large`. */
  public instanceType(prop: string, value: string | undefined): this {
    return this.pattern(prop, value, /^ml\.[a-z0-9-]+\.[a-z0-9]+$/, 'it must be a SageMaker instance type such as ml.m5.large');
  }

  /** At most one of two mutually exclusive props. */
  public notBoth(propA: string, a: unknown, propB: string, b: unknown): this {
    if (a !== undefined && b !== undefined) this.problems.push(`${propA} and ${propB} were both given; pass one or the other`);
    return this;
  }

  /** Throws one error listing every problem, if any. */
  public throwIfInvalid(): void {
    if (this.problems.length > 0) {
      throw new Error(`Invalid ${this.constructName} props:\n- ${this.problems.join('\n- ')}`);
    }
  }
}

/** Bounds for {@link PropsValidator.number}. */
export interface NumberRule {
  readonly min?: number;
  readonly greaterThan?: number;
  readonly max?: number;
  readonly integer?: boolean;
}

function describeRule(rule: NumberRule): string {
  const parts = [rule.integer ? 'an integer' : 'a finite number'];
  if (rule.min !== undefined) parts.push(`>= ${rule.min}`);
  if (rule.greaterThan !== undefined) parts.push(`> ${rule.greaterThan}`);
  if (rule.max !== undefined) parts.push(`<= ${rule.max}`);
  return `it must be ${parts.join(', ')}`;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}
