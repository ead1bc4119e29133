import { useId, useRef, useState, type FormEvent } from 'react';
import type { FeedbackResponse } from '../../src/contracts/prediction-api';
import { FEEDBACK_REQUEST_SCHEMA } from '../../src/contracts/prediction-api';
import { sendFeedback, type Failure, type FetchFn } from './api';

const ringsSchema = FEEDBACK_REQUEST_SCHEMA.properties.actualRings;
export const MIN_RINGS = ringsSchema.minimum;
export const MAX_RINGS = ringsSchema.maximum;

export function validateRings(raw: string, badInput = false): string | undefined {
  const text = raw.trim();
  if (text === '' && !badInput) return 'Enter the ring count you counted.';
  if (badInput || !/^[+-]?\d+$/.test(text)) return 'The ring count must be a whole number.';
  const value = Number(text);
  if (value < MIN_RINGS || value > MAX_RINGS) return `The ring count must be between ${MIN_RINGS} and ${MAX_RINGS}.`;
  return undefined;
}

type FeedbackState =
  | { readonly status: 'idle' }
  | { readonly status: 'pending' }
  | { readonly status: 'done'; readonly saved: FeedbackResponse }
  | { readonly status: 'failed'; readonly failure: Failure };

interface FeedbackFormProps {
  readonly apiUrl: string;
  readonly predictionId: string;
  readonly fetchFn: FetchFn;
  /** The deployment turns feedback into training data: only then does the form say it retrains the model. */
  readonly retrainsModel?: boolean;
}

/** Lets a person who counted the rings report the true value for this prediction. */
export function FeedbackForm({ apiUrl, predictionId, fetchFn, retrainsModel = false }: FeedbackFormProps) {
  const id = useId();
  const [value, setValue] = useState('');
  const [badInput, setBadInput] = useState(false);
  const [showError, setShowError] = useState(false);
  const [state, setState] = useState<FeedbackState>({ status: 'idle' });
  const inputRef = useRef<HTMLInputElement>(null);
  const inFlight = useRef(false);

  const error = showError ? validateRings(value, badInput) : undefined;
  const pending = state.status === 'pending';
  const inputId = `${id}-rings`;
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    if (inFlight.current) return;
    setShowError(true);
    if (validateRings(value, badInput)) {
      inputRef.current?.focus();
      return;
    }
    inFlight.current = true;
    setState({ status: 'pending' });
    try {
      const outcome = await sendFeedback(fetchFn, apiUrl, predictionId, Number(value.trim()));
      setState(outcome.ok ? { status: 'done', saved: outcome.value } : { status: 'failed', failure: outcome.failure });
    } finally {
      inFlight.current = false;
    }
  };

  return (
    <form className="card feedback" noValidate onSubmit={(e) => void onSubmit(e)} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Know the real age?</h2>
      <div className="field">
        <label htmlFor={inputId}>Actual ring count</label>
        <input
          ref={inputRef}
          id={inputId}
          type="number"
          inputMode="numeric"
          autoComplete="off"
          min={MIN_RINGS}
          max={MAX_RINGS}
          step={1}
          value={value}
          aria-invalid={Boolean(error)}
          aria-describedby={error ? `${errorId} ${hintId}` : hintId}
          onChange={(e) => {
            setValue(e.currentTarget.value);
            setBadInput(e.currentTarget.validity?.badInput ?? false);
          }}
          onBlur={() => setShowError(value !== '' || badInput)}
        />
        <p id={hintId} className="hint">
          A whole number from {MIN_RINGS} to {MAX_RINGS}. {retrainsModel ? 'It helps check and retrain the model.' : 'It helps check the model.'}
        </p>
        {error && (
          <p id={errorId} className="message error">
            {error}
          </p>
        )}
      </div>
      <div className="actions">
        <button type="submit" className={pending ? 'primary busy' : 'primary'} aria-disabled={pending}>
          {pending ? 'Sending…' : 'Send ring count'}
        </button>
      </div>
      <div role="status" aria-live="polite">
        {state.status === 'done' && (
          <p className="message success">Thank you: {state.saved.actualRings} rings recorded for this prediction.</p>
        )}
      </div>
      <div role="alert">
        {state.status === 'failed' && (
          <p className="message error">
            {state.failure.kind === 'not-found'
              ? 'The service no longer knows this prediction, so the ring count was not saved.'
              : `The ring count was not saved. ${state.failure.message}`}
          </p>
        )}
      </div>
    </form>
  );
}
