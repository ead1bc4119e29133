import { PropsValidator } from '../private/validation';

/**
 * How a construct's prop rules name its props in their messages: by the construct's own names when it stands alone,
 * or by the names of the construct that composes it (ModelServing's `endpointAutoScaling` is EndpointDeployment's
 * `autoScaling`), so that an error names the prop its user wrote.
 */
export type PropNamer<P> = (prop: Extract<keyof P, string>) => string;

/** The checks of one construct's props, reported into `v` under the names `name` gives them. */
export type PropRules<P> = (v: PropsValidator, props: P, name: PropNamer<P>) => void;

/** Props objects that a composing construct has checked with the construct's own rules, under its own names. */
const VALIDATED = new WeakSet<object>();

/**
 * Marks props that the composing construct has already checked with the receiving construct's rules (reporting
 * problems under its own prop names, together with its other problems), so that the receiving construct does not
 * check them a second time.
 */
export function alreadyValidated<P extends object>(props: P): P {
  VALIDATED.add(props);
  return props;
}

/** Checks a construct's props with its rules and its own prop names, unless a composing construct already did. */
export function validateProps<P extends object>(constructName: string, props: P, rules: PropRules<P>): void {
  if (VALIDATED.has(props)) return;
  const v = new PropsValidator(constructName);
  rules(v, props, (prop) => prop);
  v.throwIfInvalid();
}

/**
 * A composing construct's props passed through to a sub-construct: `names` maps each sub-construct prop to the
 * composing construct's prop that carries it. Returns the sub-construct's props and the namer for its rules.
 */
export function passThrough<Sub, Outer>(outer: Outer, names: { readonly [P in keyof Sub]-?: keyof Outer }): { props: Sub; name: PropNamer<Sub> } {
  const props: { [key: string]: unknown } = {};
  for (const [own, flat] of Object.entries(names) as Array<[string, keyof Outer]>) {
    const value = outer[flat];
    if (value !== undefined) props[own] = value;
  }
  return { props: props as Sub, name: (prop) => String(names[prop]) };
}
