/** The deployment's settings, read at start so one bundle serves every deployment. */
import type { FetchFn } from './api';

export interface AppConfig {
  /** Absolute base URL of the prediction API, ending in '/'. */
  readonly apiUrl: string;
  /** Whether the API stores feedback about predictions. */
  readonly feedback: boolean;
  /** Whether that feedback becomes training data (only then may the app promise it retrains the model). */
  readonly feedbackRetrainsModel: boolean;
}

export const CONFIG_PATH = 'config.json';

export class ConfigError extends Error {}

export function parseConfig(body: unknown, baseUrl: string): AppConfig {
  if (typeof body !== 'object' || body === null) throw new ConfigError('The configuration is not a JSON object.');
  const { apiUrl, feedback, feedbackRetrainsModel } = body as Record<string, unknown>;
  if (typeof apiUrl !== 'string' || apiUrl.trim() === '') throw new ConfigError('The configuration has no apiUrl.');
  let url: URL;
  try {
    // A relative apiUrl (e.g. "/api/") means the page's own origin.
    url = new URL(apiUrl.trim(), baseUrl);
  } catch {
    throw new ConfigError(`The configured apiUrl "${apiUrl}" is not a URL.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(`The configured apiUrl "${apiUrl}" is not an http(s) URL.`);
  }
  if (feedback !== undefined && typeof feedback !== 'boolean') {
    throw new ConfigError('The configuration\'s "feedback" must be true or false.');
  }
  if (feedbackRetrainsModel !== undefined && typeof feedbackRetrainsModel !== 'boolean') {
    throw new ConfigError('The configuration\'s "feedbackRetrainsModel" must be true or false.');
  }
  const href = url.href;
  return {
    apiUrl: href.endsWith('/') ? href : `${href}/`,
    feedback: feedback ?? false,
    feedbackRetrainsModel: (feedback ?? false) && (feedbackRetrainsModel ?? false),
  };
}

export async function loadConfig(fetchFn: FetchFn, configUrl = CONFIG_PATH): Promise<AppConfig> {
  const url = new URL(configUrl, document.baseURI).href;
  let response: Response;
  try {
    // A redeploy may point the API elsewhere: never use a cached copy.
    response = await fetchFn(url, { cache: 'no-store', headers: { Accept: 'application/json' } });
  } catch {
    throw new ConfigError('Could not load the configuration. Check your connection and reload the page.');
  }
  if (!response.ok) throw new ConfigError(`Could not load the configuration (HTTP ${response.status}).`);
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw new ConfigError('The configuration is not valid JSON.');
  }
  return parseConfig(body, url);
}
