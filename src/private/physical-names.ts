import { createHash } from 'crypto';
import { Stack, Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** How {@link generatePhysicalName} shapes a name. */
export interface PhysicalNameOptions {
  /** Longest name allowed, hash included (at least {@link PHYSICAL_NAME_HASH_LENGTH}). */
  readonly maxLength: number;

  /**
   * Between words and before the hash: one or more characters that are neither letters nor digits.
   *
   * @default '-'
   */
  readonly separator?: string;

  /**
   * Whether the name is all lower case (for services that lower-case names in ARNs, such as SageMaker).
   *
   * @default false - each word keeps the case it has in the stack name or construct id
   */
  readonly lowerCase?: boolean;
}

/** Length of the hash that ends every generated name (hex: lower case in lower-case names, else upper case). */
export const PHYSICAL_NAME_HASH_LENGTH = 8;

/** Construct ids CDK gives a construct's default child; they add nothing to a name. */
const SKIPPED_IDS = new Set(['Default', 'Resource']);

/** Words and their usual abbreviations, used (before dropping words) when a name is too long. */
const ABBREVIATIONS: { readonly [word: string]: string } = {
  application: 'app',
  configuration: 'config',
  database: 'db',
  deployment: 'deploy',
  development: 'dev',
  environment: 'env',
  function: 'fn',
  infrastructure: 'infra',
  management: 'mgmt',
  production: 'prod',
  repository: 'repo',
  service: 'svc',
};

/**
 * Words of a CamelCase, kebab-case or snake_case id: `AbaloneMLOps-v2_stack` gives `Abalone ML Ops v2 stack`.
 * Anything other than ASCII letters and digits separates words; digits stay with the word before them.
 */
const WORD = /[A-Z]+[0-9]*(?![a-z])|[A-Z]?[a-z]+[0-9]*|[0-9]+/g;

interface Word {
  text: string;
  /** Lower-case form, to compare words. */
  key: string;
  /** Lower numbers are dropped (and abbreviated) first. */
  readonly rank: number;
  dropped: boolean;
}

/**
 * A readable physical name for a resource of `scope`, unique per construct path and deterministic:
 * the words of the stack name and of the construct ids below the stack, then a hash of both.
 *
 * `Default` and `Resource` ids are skipped, CamelCase ids are split into words and a word that repeats the one
 * before it is left out, so the `Endpoint` of `Abalone/ModelServing` in stack `AbaloneMlops` starts
 * `abalone-mlops-abalone-model-serving-endpoint` (lower case). A name longer than `maxLength` is shortened by whole
 * words, never by cutting one: first a word that already appears earlier is left out, then long words are
 * abbreviated (`deployment` → `deploy`), then words are left out — the construct path's from the innermost
 * outwards, then the stack name's from the middle; the construct's own last word goes last. The hash (of the
 * stack name and the full construct path) keeps two names apart however many of their words were left out.
 *
 * The name has only ASCII letters, digits and the separator, starts and ends with a letter or digit, and
 * never has two separators in a row. When the stack name is a token (a nested stack, or a name given as a
 * token), the ids of the stack's construct path stand in for it, so the name is always known at synth.
 */
export function generatePhysicalName(scope: IConstruct, options: PhysicalNameOptions): string {
  const separator = options.separator ?? '-';
  if (separator.length === 0 || /[A-Za-z0-9]/.test(separator)) {
    throw new Error(`The separator of a physical name must be non-empty and have no letters or digits; got "${separator}".`);
  }
  if (!Number.isInteger(options.maxLength) || options.maxLength < PHYSICAL_NAME_HASH_LENGTH) {
    throw new Error(`The maxLength of a physical name must be a whole number of at least ${PHYSICAL_NAME_HASH_LENGTH}; got ${options.maxLength}.`);
  }

  const stack = Stack.of(scope);
  const stackName = Token.isUnresolved(stack.stackName) ? undefined : stack.stackName;
  const stackIds = stackName !== undefined ? [stackName] : idsOf(stack.node.scopes);
  const scopes = scope.node.scopes;
  const pathIds = idsOf(scopes.slice(scopes.indexOf(stack) + 1));

  const hash = createHash('sha256').update(JSON.stringify([stackName ?? '', scope.node.path])).digest('hex')
    .slice(0, PHYSICAL_NAME_HASH_LENGTH);
  const words = rankedWords(stackIds, pathIds);
  const budget = options.maxLength - PHYSICAL_NAME_HASH_LENGTH - separator.length;
  const fits = () => render(words, separator).length <= budget;

  // 1. Leave out words that already appear earlier, from the right (never the last word).
  for (let i = words.length - 2; i > 0 && !fits(); i--) {
    if (words.slice(0, i).some((w) => !w.dropped && w.key === words[i].key)) words[i].dropped = true;
  }
  // 2. Abbreviate, then 3. leave out, the least important words first.
  const byRank = [...words].sort((a, b) => a.rank - b.rank);
  for (const word of byRank) {
    if (fits()) break;
    const short = ABBREVIATIONS[word.key];
    if (short !== undefined) {
      word.text = withCaseOf(word.text, short);
      word.key = short;
    }
  }
  for (const word of byRank) {
    if (fits()) break;
    word.dropped = true;
  }

  const text = render(words, separator);
  if (options.lowerCase) return (text.length > 0 ? `${text}${separator}${hash}` : hash).toLowerCase();
  // Upper-case hex, as CDK's own generated names have, when the words keep their case.
  return text.length > 0 ? `${text}${separator}${hash.toUpperCase()}` : hash.toUpperCase();
}

/** The ids of these constructs that make words: no empty, skipped or token ids. */
function idsOf(scopes: IConstruct[]): string[] {
  return scopes.map((c) => c.node.id).filter((id) => id !== '' && !SKIPPED_IDS.has(id) && !Token.isUnresolved(id));
}

/**
 * The words in order, each with its rank (lowest is left out first): the construct path's words from the
 * innermost outwards (the outer ids tell one instance from another, the inner ones mostly repeat a library's
 * structure), then the stack name's middle words (from the right), its last word, its first word, and last of
 * all the construct's own last word.
 */
function rankedWords(stackIds: string[], pathIds: string[]): Word[] {
  const split = (ids: string[]) => ids.flatMap((id) => id.match(WORD) ?? []);
  const words: Array<{ text: string; fromStack: boolean }> = [];
  for (const [list, fromStack] of [[split(stackIds), true], [split(pathIds), false]] as const) {
    for (const text of list) {
      const previous = words[words.length - 1];
      if (previous && previous.text.toLowerCase() === text.toLowerCase()) continue;
      words.push({ text, fromStack });
    }
  }
  const s = words.filter((w) => w.fromStack).length;
  const p = words.length - s;
  return words.map(({ text, fromStack }, i) => {
    let rank: number;
    if (i === words.length - 1) rank = words.length;
    else if (!fromStack) rank = p - 2 - (i - s);
    else if (i === 0) rank = p + s - 1;
    else if (i === s - 1) rank = p + s - 2;
    else rank = p + (s - 2 - i);
    return { text, key: text.toLowerCase(), rank, dropped: false };
  });
}

/** The words not left out, joined, without a word that repeats the one before it. */
function render(words: Word[], separator: string): string {
  const kept: Word[] = [];
  for (const word of words) {
    if (!word.dropped && kept[kept.length - 1]?.key !== word.key) kept.push(word);
  }
  return kept.map((w) => w.text).join(separator);
}

/** `short` with the case of `word`: `Deployment` → `Deploy`, `DEPLOYMENT` → `DEPLOY`. */
function withCaseOf(word: string, short: string): string {
  if (word === word.toUpperCase()) return short.toUpperCase();
  if (word[0] === word[0].toUpperCase()) return short[0].toUpperCase() + short.slice(1);
  return short;
}
