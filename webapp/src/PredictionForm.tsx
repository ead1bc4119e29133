import { useEffect, useRef, useState, type FormEvent } from 'react';
import { AGE_OFFSET_YEARS } from '../../src/contracts/abalone-data';
import type { Prediction } from '../../src/contracts/prediction-api';
import { predict, type Failure, type FetchFn } from './api';
import { FeedbackForm } from './FeedbackForm';
import { MeasureField, SexField } from './fields';
import {
  EXAMPLE_COUNT,
  FIELD_ORDER,
  MEASURE_INPUTS,
  consistencyWarnings,
  emptyValues,
  exampleValues,
  fieldLabel,
  validateForm,
  type FieldMessages,
  type FormValues,
} from './form-model';

/** After this long a pending request says so, so a slow model never looks like a hang. */
export const SLOW_AFTER_MS = 2_500;

type RequestState =
  | { readonly status: 'idle' }
  | { readonly status: 'pending'; readonly slow: boolean }
  | { readonly status: 'done'; readonly prediction: Prediction; readonly values: FormValues }
  | { readonly status: 'failed'; readonly failure: Failure; readonly retryAt?: Date };

const RETRYABLE = new Set<Failure['kind']>(['unavailable', 'endpoint', 'throttled', 'http', 'network', 'timeout', 'malformed']);

interface PredictionFormProps {
  readonly apiUrl: string;
  readonly feedbackEnabled: boolean;
  /** Whether feedback becomes training data (config.json `feedbackRetrainsModel`). */
  readonly feedbackRetrainsModel?: boolean;
  readonly fetchFn: FetchFn;
}

export function formatOneDecimal(value: number): string {
  return value.toFixed(1);
}

function formatRings(rings: number): string {
  return rings.toLocaleString('en', { maximumFractionDigits: 1 });
}

/** Whether the form still holds the values a prediction was made from. */
function sameValues(a: FormValues, b: FormValues): boolean {
  return FIELD_ORDER.every((name) => (a[name] ?? '').trim() === (b[name] ?? '').trim());
}

export function PredictionForm({ apiUrl, feedbackEnabled, feedbackRetrainsModel = false, fetchFn }: PredictionFormProps) {
  const [values, setValues] = useState<FormValues>(emptyValues);
  const [badInputs, setBadInputs] = useState<Record<string, boolean>>({});
  const [touched, setTouched] = useState<Record<string, boolean>>({});
  const [submitted, setSubmitted] = useState(false);
  const [serverErrors, setServerErrors] = useState<FieldMessages>({});
  const [request, setRequest] = useState<RequestState>({ status: 'idle' });
  // Set by a submit that found errors; the count it shows follows later edits.
  const [summaryShown, setSummaryShown] = useState(false);
  const [exampleIndex, setExampleIndex] = useState(0);
  const inputs = useRef<Record<string, HTMLInputElement | null>>({});
  // A ref, not state: two submits in the same tick must both see the first one.
  const inFlight = useRef(false);
  const resultRef = useRef<HTMLElement>(null);

  const pending = request.status === 'pending';
  const clientErrors = validateForm(values, badInputs).errors;
  const warnings = consistencyWarnings(values);
  const stale = request.status === 'done' && !sameValues(values, request.values);
  const shownError = (name: string): string | undefined =>
    ((touched[name] || submitted) && clientErrors[name]) || serverErrors[name];

  useEffect(() => {
    // On a narrow screen the answer is below the fold.
    if (request.status === 'done') resultRef.current?.scrollIntoView?.({ block: 'nearest' });
  }, [request.status]);

  const focusField = (name: string) => inputs.current[name]?.focus();

  const handleChange = (name: string, value: string, badInput: boolean) => {
    setValues((v) => ({ ...v, [name]: value }));
    setBadInputs((b) => ({ ...b, [name]: badInput }));
    setServerErrors(({ [name]: _dropped, ...rest }) => rest);
  };

  const handleBlur = (name: string) => setTouched((t) => (t[name] ? t : { ...t, [name]: true }));

  const fillExample = () => {
    setValues(exampleValues(exampleIndex));
    setExampleIndex((i) => (i + 1) % EXAMPLE_COUNT);
    setBadInputs({});
    setServerErrors({});
  };

  const submit = async () => {
    if (inFlight.current) return;
    setSubmitted(true);
    const { errors, instance } = validateForm(values, badInputs);
    const firstInvalid = FIELD_ORDER.find((name) => errors[name]);
    setSummaryShown(firstInvalid !== undefined);
    if (!instance) {
      if (firstInvalid) focusField(firstInvalid);
      return;
    }
    inFlight.current = true;
    setServerErrors({});
    setRequest({ status: 'pending', slow: false });
    const slowTimer = setTimeout(() => setRequest((r) => (r.status === 'pending' ? { status: 'pending', slow: true } : r)), SLOW_AFTER_MS);
    try {
      const outcome = await predict(fetchFn, apiUrl, instance);
      if (outcome.ok) {
        setRequest({ status: 'done', prediction: outcome.value, values });
        return;
      }
      const failure = outcome.failure;
      const retryAt = failure.retryAfterSeconds !== undefined ? new Date(Date.now() + failure.retryAfterSeconds * 1000) : undefined;
      setRequest({ status: 'failed', failure, retryAt });
      const mapped: FieldMessages = {};
      for (const e of failure.fieldErrors ?? []) {
        if (FIELD_ORDER.includes(e.field) && !mapped[e.field]) mapped[e.field] = e.message;
      }
      setServerErrors(mapped);
      const first = FIELD_ORDER.find((name) => mapped[name]);
      if (first) focusField(first);
    } finally {
      clearTimeout(slowTimer);
      inFlight.current = false;
    }
  };

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    void submit();
  };

  const invalidCount = summaryShown ? Object.keys(clientErrors).length : 0;

  return (
    <>
      <form className="card" noValidate onSubmit={onSubmit} aria-labelledby="form-title">
        <div className="form-head">
          <h2 id="form-title">Measurements</h2>
          <button type="button" className="secondary" onClick={fillExample}>
            Example abalone
          </button>
        </div>
        <SexField
          value={values.sex}
          error={shownError('sex')}
          inputRef={(el) => {
            inputs.current.sex = el;
          }}
          onChange={handleChange}
          onBlur={handleBlur}
        />
        <div className="grid">
          {MEASURE_INPUTS.map((spec) => (
            <MeasureField
              key={spec.name}
              spec={spec}
              value={values[spec.name]}
              error={shownError(spec.name)}
              warning={warnings[spec.name]}
              inputRef={(el) => {
                inputs.current[spec.name] = el;
              }}
              onChange={handleChange}
              onBlur={handleBlur}
            />
          ))}
        </div>
        <div className="actions">
          {/* aria-disabled rather than disabled: a disabled button would drop the keyboard user's focus. */}
          <button type="submit" className={pending ? 'primary busy' : 'primary'} aria-disabled={pending}>
            {pending ? 'Predicting…' : 'Predict age'}
          </button>
          {invalidCount > 0 && (
            <p className="message error">
              {invalidCount === 1 ? 'Check the highlighted field.' : `Check the ${invalidCount} highlighted fields.`}
            </p>
          )}
        </div>
      </form>

      <section className="card result" aria-labelledby="result-title" ref={resultRef}>
        <h2 id="result-title">Predicted age</h2>
        <div role="status" aria-live="polite" aria-atomic="true">
          {request.status === 'idle' && <p className="placeholder">Enter the measurements, then choose “Predict age”.</p>}
          {request.status === 'pending' && (
            <p className="progress">
              <span className="spinner" aria-hidden="true" />
              Predicting the age…
              {request.slow && ' Still waiting for the model: it can take a few seconds.'}
            </p>
          )}
          {request.status === 'done' && (
            <div className={stale ? 'stale' : undefined}>
              {stale && (
                <p className="message warning" data-testid="stale">
                  Out of date: the measurements changed since this prediction. Choose “Predict age” again.
                </p>
              )}
              <p className="age">
                <span className="age-value">{formatOneDecimal(request.prediction.ageYears)}</span> years
              </p>
              <p>
                {formatRings(request.prediction.rings)} rings predicted; age is rings + {AGE_OFFSET_YEARS} years.
              </p>
              <p className="meta">Model version: {request.prediction.modelVersion || 'unknown'}</p>
            </div>
          )}
          {request.status === 'failed' && <p className="placeholder">No prediction.</p>}
        </div>
        <div role="alert">
          {request.status === 'failed' && <FailureMessage failure={request.failure} retryAt={request.retryAt} />}
        </div>
        {request.status === 'failed' && RETRYABLE.has(request.failure.kind) && (
          <button type="button" className="secondary" onClick={() => void submit()}>
            Try again
          </button>
        )}
      </section>

      {feedbackEnabled && request.status === 'done' && (
        <FeedbackForm
          key={request.prediction.predictionId}
          apiUrl={apiUrl}
          predictionId={request.prediction.predictionId}
          fetchFn={fetchFn}
          retrainsModel={feedbackRetrainsModel}
        />
      )}
    </>
  );
}

function asSentence(text: string): string {
  return /[.!?]$/.test(text.trim()) ? text.trim() : `${text.trim()}.`;
}

function FailureMessage({ failure, retryAt }: { failure: Failure; retryAt?: Date }) {
  if (failure.kind === 'invalid') {
    const fields = FIELD_ORDER.filter((name) => failure.fieldErrors?.some((e) => e.field === name));
    const others = (failure.fieldErrors ?? []).filter((e) => !FIELD_ORDER.includes(e.field));
    return (
      <div className="message error">
        <p>
          {asSentence(failure.message)}
          {fields.length > 0 && ` Check the ${fields.map((name) => fieldLabel(name).toLowerCase()).join(', ')}.`}
        </p>
        {others.length > 0 && (
          <ul>
            {others.map((e, i) => (
              <li key={i}>
                {e.field ? `${e.field}: ` : ''}
                {e.message}
              </li>
            ))}
          </ul>
        )}
      </div>
    );
  }
  if (failure.kind === 'unavailable' && failure.retryAfterSeconds !== undefined) {
    const at = retryAt?.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
    return (
      <p className="message error">
        {asSentence(failure.message)} Try again in {failure.retryAfterSeconds} seconds{at ? ` (at ${at})` : ''}.
      </p>
    );
  }
  return <p className="message error">{asSentence(failure.message)}</p>;
}
