import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { App } from '../src/App';
import type { FetchFn } from '../src/api';
import { ErrorBoundary } from '../src/ErrorBoundary';
import { MEASURE_INPUTS } from '../src/form-model';
import { SLOW_AFTER_MS } from '../src/PredictionForm';
import { API_URL, PREDICTION, TYPED_VALUES, descriptionOf, fillForm, jsonResponse, predictionCalls, renderApp, type Handler } from './helpers';

const EXPECTED_BODY = {
  sex: 'M',
  lengthMm: 91,
  diameterMm: 73,
  heightMm: 19,
  wholeWeightG: 102.8,
  shuckedWeightG: 44.9,
  visceraWeightG: 20.2,
  shellWeightG: 30,
};

const labelOf = (spec: (typeof MEASURE_INPUTS)[number]) => `${spec.label} (${spec.unit})`;
const resultRegion = () => screen.getByRole('region', { name: 'Predicted age' });
const status = () => within(resultRegion()).getByRole('status');
const alert = () => within(resultRegion()).getByRole('alert');

afterEach(() => {
  vi.useRealTimers();
});

describe('configuration', () => {
  it('loads config.json and shows the form', async () => {
    const { fetchFn } = await renderApp();
    expect(fetchFn.mock.calls[0][0]).toBe('http://localhost:3000/config.json');
    expect(screen.getByRole('heading', { name: 'Measurements' })).toBeInTheDocument();
  });

  it('explains a missing configuration and retries', async () => {
    let fail = true;
    const fetchFn = vi.fn<FetchFn>(async () => (fail ? new Response('nope', { status: 404 }) : jsonResponse(200, { apiUrl: API_URL })));
    render(<App fetchFn={fetchFn} />);
    expect(await screen.findByText('Could not load the configuration (HTTP 404).')).toBeInTheDocument();
    fail = false;
    fireEvent.click(screen.getByRole('button', { name: 'Try again' }));
    expect(await screen.findByRole('button', { name: 'Predict age' })).toBeInTheDocument();
  });

  it('explains an unreachable configuration', async () => {
    render(<App fetchFn={() => Promise.reject(new TypeError('Failed to fetch'))} />);
    expect(await screen.findByRole('alert')).toHaveTextContent('Could not load the configuration. Check your connection');
  });
});

describe('validation', () => {
  it('on submit, marks every field, focuses the first one and sends nothing', async () => {
    const { user, fetchFn } = await renderApp();
    await user.click(screen.getByRole('button', { name: 'Predict age' }));
    const radios = screen.getAllByRole('radio');
    expect(radios[0]).toHaveFocus();
    for (const radio of radios) expect(radio).toHaveAttribute('aria-invalid', 'true');
    expect(descriptionOf(radios[0])).toMatch(/choose the sex/i);
    for (const spec of MEASURE_INPUTS) {
      const input = screen.getByLabelText(labelOf(spec));
      expect(input).toHaveAttribute('aria-invalid', 'true');
      expect(descriptionOf(input)).toContain(`Enter the ${spec.label.toLowerCase()} in ${spec.unit}.`);
    }
    expect(screen.getByText('Check the 8 highlighted fields.')).toBeInTheDocument();
    expect(predictionCalls(fetchFn)).toHaveLength(0);
  });

  it('focuses the first invalid field, in form order', async () => {
    const { user } = await renderApp();
    await fillForm(user, { ...TYPED_VALUES, 'Height (mm)': '-3', 'Shell weight (g)': '' });
    await user.click(screen.getByRole('button', { name: 'Predict age' }));
    expect(screen.getByLabelText('Height (mm)')).toHaveFocus();
    expect(screen.getByText('Check the 2 highlighted fields.')).toBeInTheDocument();
  });

  it.each(MEASURE_INPUTS.map((spec) => [labelOf(spec), spec] as const))('%s: empty, non-numeric, negative, over max', async (label, spec) => {
    const { user } = await renderApp();
    const input = screen.getByLabelText(label);
    expect(input).toHaveAttribute('min', String(spec.min));
    expect(input).toHaveAttribute('max', String(spec.max));
    expect(descriptionOf(input)).toMatch(/^Typical .*Allowed 0–/);

    // Nothing is shown before the field is touched.
    await user.type(input, '-');
    expect(input).toHaveAttribute('aria-invalid', 'false');
    await user.clear(input);
    await user.tab();
    expect(input).toHaveAttribute('aria-invalid', 'true');
    expect(descriptionOf(input)).toContain(`Enter the ${spec.label.toLowerCase()} in ${spec.unit}.`);

    // After the first blur, messages follow every keystroke.
    await user.type(input, '1e');
    expect(descriptionOf(input)).toContain(`${spec.label} must be a number`);
    await user.clear(input);
    await user.type(input, '-2');
    expect(descriptionOf(input)).toContain(`${spec.label} can't be negative.`);
    await user.clear(input);
    await user.type(input, String(spec.max + 1));
    expect(descriptionOf(input)).toContain(`${spec.label} must be at most ${spec.max} ${spec.unit}.`);
    await user.clear(input);
    await user.type(input, '10');
    expect(input).toHaveAttribute('aria-invalid', 'false');
    expect(descriptionOf(input)).not.toMatch(/must|Enter/);
  });

  it('warns about implausible weights without blocking the prediction', async () => {
    const { user, fetchFn } = await renderApp();
    await fillForm(user, { ...TYPED_VALUES, 'Whole weight (g)': '40' });
    const shucked = screen.getByLabelText('Shucked weight (g)');
    expect(descriptionOf(shucked)).toContain('Heavier than the whole abalone');
    expect(shucked).toHaveAttribute('aria-invalid', 'false');
    await user.click(screen.getByRole('button', { name: 'Predict age' }));
    expect(await screen.findByText('16.5')).toBeInTheDocument();
    expect(predictionCalls(fetchFn)).toHaveLength(1);
  });
});

describe('request', () => {
  it('sends the measures as numbers, in the contract field names', async () => {
    const { user, fetchFn } = await renderApp();
    await fillForm(user);
    await user.click(screen.getByRole('button', { name: 'Predict age' }));
    await screen.findByText('16.5');
    const [[url, init]] = predictionCalls(fetchFn);
    expect(url).toBe('https://api.example.com/prod/predictions');
    expect(init?.method).toBe('POST');
    expect(new Headers(init?.headers).get('Content-Type')).toBe('application/json');
    expect(JSON.parse(init?.body as string)).toStrictEqual(EXPECTED_BODY);
  });

  it('joins an apiUrl without a trailing slash', async () => {
    const { user, fetchFn } = await renderApp({ config: { apiUrl: 'https://api.example.com/prod' } });
    await fillForm(user);
    await user.click(screen.getByRole('button', { name: 'Predict age' }));
    await screen.findByText('16.5');
    expect(predictionCalls(fetchFn)[0][0]).toBe('https://api.example.com/prod/predictions');
  });

  it('shows the age with one decimal, the rings and the model version in a live region', async () => {
    const { user } = await renderApp({ predict: () => jsonResponse(200, { ...PREDICTION, rings: 9.87, ageYears: 11.37 }) });
    await fillForm(user);
    await user.click(screen.getByRole('button', { name: 'Predict age' }));
    await waitFor(() => expect(status()).toHaveTextContent('11.4 years'));
    expect(status()).toHaveAttribute('aria-live', 'polite');
    expect(status()).toHaveTextContent('9.9 rings predicted; age is rings + 1.5 years.');
    expect(status()).toHaveTextContent('Model version: abalone-7');
  });

  it('fills a real UCI example in human units', async () => {
    const { user, fetchFn } = await renderApp();
    await user.click(screen.getByRole('button', { name: 'Example abalone' }));
    expect(screen.getByRole('radio', { name: 'Male' })).toBeChecked();
    for (const [label, value] of Object.entries(TYPED_VALUES)) expect(screen.getByLabelText(label)).toHaveValue(Number(value));
    await user.click(screen.getByRole('button', { name: 'Predict age' }));
    await screen.findByText('16.5');
    expect(JSON.parse(predictionCalls(fetchFn)[0][1]?.body as string)).toStrictEqual(EXPECTED_BODY);
    // The next click offers another real abalone.
    await user.click(screen.getByRole('button', { name: 'Example abalone' }));
    expect(screen.getByRole('radio', { name: 'Female' })).toBeChecked();
  });
});

describe('pending', () => {
  it('shows progress and never sends twice', async () => {
    let answer!: (r: Response) => void;
    const { user, fetchFn } = await renderApp({ predict: () => new Promise<Response>((resolve) => (answer = resolve)) });
    await fillForm(user);
    const button = screen.getByRole('button', { name: 'Predict age' });
    await user.click(button);
    expect(button).toHaveTextContent('Predicting…');
    expect(button).toHaveAttribute('aria-disabled', 'true');
    expect(status()).toHaveTextContent('Predicting the age…');
    await user.click(button);
    await user.type(screen.getByLabelText('Shell weight (g)'), '{Enter}');
    fireEvent.submit(button.closest('form')!);
    expect(predictionCalls(fetchFn)).toHaveLength(1);
    await act(async () => answer(jsonResponse(200, PREDICTION)));
    expect(status()).toHaveTextContent('16.5 years');
    expect(button).toHaveAttribute('aria-disabled', 'false');
    expect(button).toHaveTextContent('Predict age');
  });

  it('says so when the model is slow', async () => {
    const { user } = await renderApp({ predict: () => new Promise<Response>(() => {}) });
    await fillForm(user);
    vi.useFakeTimers();
    fireEvent.click(screen.getByRole('button', { name: 'Predict age' }));
    await act(async () => {});
    expect(status()).not.toHaveTextContent('Still waiting');
    await act(async () => vi.advanceTimersByTime(SLOW_AFTER_MS));
    expect(status()).toHaveTextContent('Predicting the age… Still waiting for the model');
  });

  it('gives up with a message when the service never answers', async () => {
    const fetchFn = vi.fn<FetchFn>((_url, init) =>
      init?.method === 'POST'
        ? new Promise<Response>((_, reject) => init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))))
        : Promise.resolve(jsonResponse(200, { apiUrl: API_URL })),
    );
    render(<App fetchFn={fetchFn} />);
    await screen.findByRole('button', { name: 'Predict age' });
    fireEvent.click(screen.getByRole('button', { name: 'Example abalone' }));
    vi.useFakeTimers();
    fireEvent.click(screen.getByRole('button', { name: 'Predict age' }));
    await act(async () => vi.advanceTimersByTime(30_000));
    expect(alert()).toHaveTextContent('The service did not answer within 30 seconds.');
  });
});

describe('failures', () => {
  async function submitWith(predict: Handler) {
    const setup = await renderApp({ predict });
    await fillForm(setup.user);
    await setup.user.click(screen.getByRole('button', { name: 'Predict age' }));
    await waitFor(() => expect(alert()).not.toBeEmptyDOMElement());
    return setup;
  }

  it('400: puts each error next to its field and focuses the first', async () => {
    await submitWith(() =>
      jsonResponse(400, {
        message: 'Invalid request',
        errors: [
          { field: 'shellWeightG', message: 'must be <= 400' },
          { field: 'lengthMm', message: 'must be <= 250' },
          { field: 'colour', message: 'is not allowed' },
        ],
      }),
    );
    const length = screen.getByLabelText('Length (mm)');
    expect(length).toHaveFocus();
    expect(length).toHaveAttribute('aria-invalid', 'true');
    expect(descriptionOf(length)).toContain('must be <= 250');
    expect(descriptionOf(screen.getByLabelText('Shell weight (g)'))).toContain('must be <= 400');
    expect(alert()).toHaveTextContent('Invalid request. Check the length, shell weight.');
    expect(alert()).toHaveTextContent('colour: is not allowed');
    expect(screen.queryByRole('button', { name: 'Try again' })).not.toBeInTheDocument();
    // Editing a field clears the server's message for it.
    await fireEvent.change(length, { target: { value: '90' } });
    expect(length).toHaveAttribute('aria-invalid', 'false');
  });

  it('413: shows the message', async () => {
    await submitWith(() => jsonResponse(413, { message: 'Request body is larger than 65536 bytes' }));
    expect(alert()).toHaveTextContent('Request body is larger than 65536 bytes');
  });

  it('503: says no model is deployed, when to retry, and retries', async () => {
    let calls = 0;
    const { user, fetchFn } = await submitWith(() =>
      ++calls === 1 ? jsonResponse(503, { message: 'No model deployed' }, { 'Retry-After': '45' }) : jsonResponse(200, PREDICTION),
    );
    expect(alert()).toHaveTextContent('No model is deployed yet');
    expect(alert()).toHaveTextContent(/Try again in 45 seconds \(at \d{1,2}:\d{2}:\d{2}/);
    await user.click(screen.getByRole('button', { name: 'Try again' }));
    await waitFor(() => expect(status()).toHaveTextContent('16.5 years'));
    expect(alert()).toBeEmptyDOMElement();
    expect(predictionCalls(fetchFn)).toHaveLength(2);
  });

  it('503 without a readable Retry-After: falls back to the contract default', async () => {
    await submitWith(() => jsonResponse(503, { message: 'No model deployed' }));
    expect(alert()).toHaveTextContent('Try again in 30 seconds');
  });

  it('502: the model endpoint failed', async () => {
    await submitWith(() => jsonResponse(502, { message: 'Bad gateway' }));
    expect(alert()).toHaveTextContent('The model endpoint failed to answer.');
    expect(screen.getByRole('button', { name: 'Try again' })).toBeInTheDocument();
  });

  it('network failure: a clear message', async () => {
    await submitWith(() => Promise.reject(new TypeError('Failed to fetch')));
    expect(alert()).toHaveTextContent('Could not reach the prediction service. Check your connection and try again.');
  });

  it.each([
    ['not JSON', () => new Response('<html>oops</html>', { status: 200 })],
    ['JSON of the wrong shape', () => jsonResponse(200, { rings: 'ten' })],
  ])('malformed answer (%s): a message, not a crash', async (_name, predict) => {
    await submitWith(predict);
    expect(alert()).toHaveTextContent('The prediction service sent an answer this page cannot read.');
  });

  it('other statuses: names the status', async () => {
    await submitWith(() => new Response('', { status: 500 }));
    expect(alert()).toHaveTextContent('HTTP 500');
  });
});

describe('feedback', () => {
  async function predicted(feedback?: Handler, config?: unknown) {
    const setup = await renderApp({ feedback, config });
    await fillForm(setup.user);
    await setup.user.click(screen.getByRole('button', { name: 'Predict age' }));
    await screen.findByText('16.5');
    return setup;
  }

  it('promises retraining only when config.json says feedback retrains the model', async () => {
    await predicted(() => jsonResponse(200, {}));
    expect(descriptionOf(screen.getByLabelText('Actual ring count'))).toContain('It helps check the model.');
    expect(descriptionOf(screen.getByLabelText('Actual ring count'))).not.toContain('retrain');
  });

  it('says it helps retrain the model when config.json has feedbackRetrainsModel: true', async () => {
    await predicted(() => jsonResponse(200, {}), { apiUrl: API_URL, feedback: true, feedbackRetrainsModel: true });
    expect(descriptionOf(screen.getByLabelText('Actual ring count'))).toContain('It helps check and retrain the model.');
  });

  it('marks the shown prediction out of date as soon as an input changes, and not when it changes back', async () => {
    const { user } = await predicted(() => jsonResponse(200, {}));
    expect(screen.queryByTestId('stale')).not.toBeInTheDocument();
    const length = screen.getByLabelText('Length (mm)');
    await user.type(length, '5');
    expect(screen.getByTestId('stale')).toHaveTextContent('Out of date');
    await user.type(length, '{Backspace}');
    expect(screen.queryByTestId('stale')).not.toBeInTheDocument();
  });

  it('is hidden when the deployment does not collect it', async () => {
    await predicted(undefined, { apiUrl: API_URL });
    expect(screen.queryByLabelText('Actual ring count')).not.toBeInTheDocument();
  });

  it('sends the actual ring count and confirms', async () => {
    const { user, fetchFn } = await predicted((_url, init) =>
      jsonResponse(200, { predictionId: 'p-1', actualRings: JSON.parse(init?.body as string).actualRings }),
    );
    await user.type(screen.getByLabelText('Actual ring count'), '14');
    await user.click(screen.getByRole('button', { name: 'Send ring count' }));
    const form = screen.getByRole('form', { name: 'Know the real age?' });
    await waitFor(() => expect(within(form).getByRole('status')).toHaveTextContent('Thank you: 14 rings recorded'));
    const [url, init] = fetchFn.mock.calls.find(([u]) => u.endsWith('/feedback'))!;
    expect(url).toBe('https://api.example.com/prod/predictions/p-1/feedback');
    expect(JSON.parse(init?.body as string)).toStrictEqual({ actualRings: 14 });
  });

  it('validates the ring count before sending', async () => {
    const { user, fetchFn } = await predicted(() => jsonResponse(200, {}));
    const input = screen.getByLabelText('Actual ring count');
    for (const [text, message] of [
      ['', 'Enter the ring count'],
      ['0', 'between 1 and 100'],
      ['101', 'between 1 and 100'],
      ['2.5', 'whole number'],
    ]) {
      await user.clear(input);
      if (text) await user.type(input, text);
      await user.click(screen.getByRole('button', { name: 'Send ring count' }));
      expect(descriptionOf(input)).toContain(message);
      expect(input).toHaveFocus();
    }
    expect(fetchFn.mock.calls.filter(([u]) => u.endsWith('/feedback'))).toHaveLength(0);
  });

  it('explains an unknown prediction (404) and other failures', async () => {
    let status = 404;
    const { user } = await predicted(() => jsonResponse(status, { message: 'Unknown prediction' }));
    await user.type(screen.getByLabelText('Actual ring count'), '14');
    await user.click(screen.getByRole('button', { name: 'Send ring count' }));
    const form = screen.getByRole('form', { name: 'Know the real age?' });
    await waitFor(() => expect(within(form).getByRole('alert')).toHaveTextContent('no longer knows this prediction'));
    status = 500;
    await user.click(screen.getByRole('button', { name: 'Send ring count' }));
    await waitFor(() => expect(within(form).getByRole('alert')).toHaveTextContent('The ring count was not saved. The service answered with an error (HTTP 500)'));
  });
});

describe('error boundary', () => {
  it('shows a message instead of a blank page', () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    const Broken = () => {
      throw new Error('kaboom');
    };
    render(
      <ErrorBoundary>
        <Broken />
      </ErrorBoundary>,
    );
    expect(screen.getByRole('alert')).toHaveTextContent('Something went wrong');
    expect(screen.getByRole('alert')).toHaveTextContent('kaboom');
    expect(screen.getByRole('button', { name: 'Reload the page' })).toBeInTheDocument();
    spy.mockRestore();
  });
});
