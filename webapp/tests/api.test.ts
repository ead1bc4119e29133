import { describe, expect, it } from 'vitest';
import { endpointUrl, feedbackUrl, parseRetryAfter, predictionsUrl } from '../src/api';
import { ConfigError, parseConfig } from '../src/config';

describe('URLs', () => {
  it('joins with or without a trailing slash', () => {
    expect(predictionsUrl('https://x.example/prod/')).toBe('https://x.example/prod/predictions');
    expect(predictionsUrl('https://x.example/prod')).toBe('https://x.example/prod/predictions');
    expect(endpointUrl('http://127.0.0.1:8080', 'predictions')).toBe('http://127.0.0.1:8080/predictions');
  });

  it('escapes the prediction id', () => {
    expect(feedbackUrl('https://x.example/prod/', 'a/b c')).toBe('https://x.example/prod/predictions/a%2Fb%20c/feedback');
  });
});

describe('Retry-After', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('30')).toBe(30);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:01:00 GMT', now)).toBe(60);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });
});

describe('parseConfig', () => {
  const base = 'https://site.example/config.json';

  it('normalises apiUrl to end in a slash and defaults feedback and retraining to off', () => {
    expect(parseConfig({ apiUrl: 'https://api.example/prod' }, base)).toEqual({
      apiUrl: 'https://api.example/prod/', feedback: false, feedbackRetrainsModel: false,
    });
    expect(parseConfig({ apiUrl: 'https://api.example/prod/', feedback: true }, base)).toMatchObject({ feedback: true, feedbackRetrainsModel: false });
    expect(parseConfig({ apiUrl: 'https://a.example/', feedback: true, feedbackRetrainsModel: true }, base).feedbackRetrainsModel).toBe(true);
    // No feedback, nothing to retrain on.
    expect(parseConfig({ apiUrl: 'https://a.example/', feedbackRetrainsModel: true }, base).feedbackRetrainsModel).toBe(false);
    expect(() => parseConfig({ apiUrl: 'https://a.example/', feedbackRetrainsModel: 'yes' }, base)).toThrow(/"feedbackRetrainsModel" must be true or false/);
  });

  it('resolves a relative apiUrl against the site', () => {
    expect(parseConfig({ apiUrl: '/api' }, base).apiUrl).toBe('https://site.example/api/');
  });

  it.each([
    [null, /not a JSON object/],
    [{}, /no apiUrl/],
    [{ apiUrl: 42 }, /no apiUrl/],
    [{ apiUrl: 'ftp://x.example/' }, /not an http/],
    [{ apiUrl: 'https://x.example/', feedback: 'yes' }, /feedback/],
  ])('rejects %j', (body, message) => {
    expect(() => parseConfig(body, base)).toThrow(ConfigError);
    expect(() => parseConfig(body, base)).toThrow(message);
  });
});
