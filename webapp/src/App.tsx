import { useEffect, useState } from 'react';
import type { FetchFn } from './api';
import { CONFIG_PATH, ConfigError, loadConfig, type AppConfig } from './config';
import { PredictionForm } from './PredictionForm';

type ConfigState =
  | { readonly status: 'loading' }
  | { readonly status: 'ready'; readonly config: AppConfig }
  | { readonly status: 'failed'; readonly message: string };

// Wrapped so `fetch` is never called with a foreign `this`.
const browserFetch: FetchFn = (input, init) => fetch(input, init);

interface AppProps {
  readonly fetchFn?: FetchFn;
  readonly configUrl?: string;
}

export function App({ fetchFn = browserFetch, configUrl = CONFIG_PATH }: AppProps) {
  const [config, setConfig] = useState<ConfigState>({ status: 'loading' });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let current = true;
    setConfig({ status: 'loading' });
    loadConfig(fetchFn, configUrl).then(
      (loaded) => current && setConfig({ status: 'ready', config: loaded }),
      (error: unknown) =>
        current &&
        setConfig({ status: 'failed', message: error instanceof ConfigError ? error.message : 'Could not load the configuration.' }),
    );
    return () => {
      current = false;
    };
  }, [fetchFn, configUrl, attempt]);

  return (
    <main className="page">
      <header className="intro">
        <h1>Abalone age predictor</h1>
        <p>
          Counting an abalone&rsquo;s rings means cutting the shell and using a microscope. Enter its sex, size and weights
          instead, and a model trained on the UCI Abalone data estimates its age.
        </p>
      </header>
      {config.status === 'loading' && (
        <p className="card" role="status">
          Loading the configuration…
        </p>
      )}
      {config.status === 'failed' && (
        <div className="card" role="alert">
          <p className="message error">{config.message}</p>
          <button type="button" className="secondary" onClick={() => setAttempt((n) => n + 1)}>
            Try again
          </button>
        </div>
      )}
      {config.status === 'ready' && (
        <PredictionForm
          apiUrl={config.config.apiUrl}
          feedbackEnabled={config.config.feedback}
          feedbackRetrainsModel={config.config.feedbackRetrainsModel}
          fetchFn={fetchFn}
        />
      )}
    </main>
  );
}
