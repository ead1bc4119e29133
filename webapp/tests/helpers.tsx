import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { vi } from 'vitest';
import { App } from '../src/App';
import type { FetchFn } from '../src/api';

export const API_URL = 'https://api.example.com/prod/';

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
}

export const PREDICTION = { predictionId: 'p-1', rings: 15, ageYears: 16.5, modelVersion: 'abalone-7' };

export type Handler = (url: string, init: RequestInit | undefined) => Response | Promise<Response>;

interface Setup {
  readonly config?: unknown;
  readonly predict?: Handler;
  readonly feedback?: Handler;
}

/** Renders the app against a fake API; every request is recorded in `fetchFn.mock.calls`. */
export async function renderApp({ config = { apiUrl: API_URL, feedback: true }, predict, feedback }: Setup = {}) {
  const fetchFn = vi.fn<FetchFn>(async (url, init) => {
    if (url.endsWith('/config.json')) return jsonResponse(200, config);
    if (url.endsWith('/feedback')) {
      if (!feedback) throw new Error(`unexpected feedback request to ${url}`);
      return feedback(url, init);
    }
    if (url.endsWith('/predictions')) return (predict ?? (() => jsonResponse(200, PREDICTION)))(url, init);
    throw new Error(`unexpected request to ${url}`);
  });
  const user = userEvent.setup();
  const view = render(<App fetchFn={fetchFn} />);
  await screen.findByRole('button', { name: /predict age/i });
  return { user, fetchFn, view };
}

export function predictionCalls(fetchFn: ReturnType<typeof vi.fn<FetchFn>>) {
  return fetchFn.mock.calls.filter(([url]) => url.endsWith('/predictions'));
}

/** The example row typed by hand: M, 91 mm, 73 mm, 19 mm, 102.8 g, 44.9 g, 20.2 g, 30 g. */
export const TYPED_VALUES: Record<string, string> = {
  'Length (mm)': '91',
  'Diameter (mm)': '73',
  'Height (mm)': '19',
  'Whole weight (g)': '102.8',
  'Shucked weight (g)': '44.9',
  'Viscera weight (g)': '20.2',
  'Shell weight (g)': '30',
};

export async function fillForm(user: ReturnType<typeof userEvent.setup>, values = TYPED_VALUES, sex = 'Male') {
  await user.click(screen.getByRole('radio', { name: sex }));
  for (const [label, value] of Object.entries(values)) {
    const input = screen.getByLabelText(label);
    await user.clear(input);
    if (value !== '') await user.type(input, value);
  }
}

/** The texts an input's aria-describedby points at. */
export function descriptionOf(element: HTMLElement): string {
  return (element.getAttribute('aria-describedby') ?? '')
    .split(/\s+/)
    .filter(Boolean)
    .map((id) => document.getElementById(id)?.textContent ?? '')
    .join(' | ');
}
