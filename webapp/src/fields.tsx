import type { FocusEvent, Ref } from 'react';
import { SEX_OPTIONS, type MeasureInput } from './form-model';

function describedBy(...ids: (string | false | undefined)[]): string | undefined {
  const list = ids.filter(Boolean).join(' ');
  return list === '' ? undefined : list;
}

function formatBound(value: number): string {
  return value.toLocaleString('en', { maximumFractionDigits: 1 });
}

interface MeasureFieldProps {
  readonly spec: MeasureInput;
  readonly value: string;
  readonly error?: string;
  readonly warning?: string;
  readonly inputRef: Ref<HTMLInputElement>;
  readonly onChange: (name: string, value: string, badInput: boolean) => void;
  readonly onBlur: (name: string) => void;
}

export function MeasureField({ spec, value, error, warning, inputRef, onChange, onBlur }: MeasureFieldProps) {
  const id = `field-${spec.name}`;
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const warningId = `${id}-warning`;
  const showWarning = Boolean(warning) && !error;
  return (
    <div className="field">
      <label htmlFor={id}>
        {spec.label} <span className="unit">({spec.unit})</span>
      </label>
      <input
        ref={inputRef}
        id={id}
        name={spec.name}
        type="number"
        inputMode="decimal"
        autoComplete="off"
        min={spec.min}
        max={spec.max}
        step={spec.step}
        value={value}
        aria-invalid={Boolean(error)}
        aria-describedby={describedBy(error && errorId, showWarning && warningId, hintId)}
        onChange={(e) => onChange(spec.name, e.currentTarget.value, e.currentTarget.validity?.badInput ?? false)}
        onBlur={() => onBlur(spec.name)}
      />
      <p id={hintId} className="hint">
        {spec.typical && (
          <>
            <span className="nowrap">
              Typical {formatBound(spec.typical[0])}–{formatBound(spec.typical[1])} {spec.unit}.
            </span>{' '}
          </>
        )}
        <span className="nowrap">
          Allowed {formatBound(spec.min)}–{formatBound(spec.max)} {spec.unit}.
        </span>
      </p>
      {error && (
        <p id={errorId} className="message error">
          {error}
        </p>
      )}
      {showWarning && (
        <p id={warningId} className="message warning">
          {warning}
        </p>
      )}
    </div>
  );
}

interface SexFieldProps {
  readonly value: string;
  readonly error?: string;
  readonly inputRef: Ref<HTMLInputElement>;
  readonly onChange: (name: string, value: string, badInput: boolean) => void;
  readonly onBlur: (name: string) => void;
}

export function SexField({ value, error, inputRef, onChange, onBlur }: SexFieldProps) {
  const errorId = 'field-sex-error';
  // Touched once focus leaves the whole group, not when moving between its options.
  const handleBlur = (e: FocusEvent<HTMLFieldSetElement>) => {
    if (!e.currentTarget.contains(e.relatedTarget as Node | null)) onBlur('sex');
  };
  const focusIndex = Math.max(0, SEX_OPTIONS.findIndex((o) => o.code === value));
  return (
    <fieldset className="field sex" onBlur={handleBlur}>
      <legend>Sex</legend>
      <div className="choices">
        {SEX_OPTIONS.map((option, i) => (
          <label key={option.code} className="choice">
            <input
              ref={i === focusIndex ? inputRef : undefined}
              type="radio"
              name="sex"
              value={option.code}
              checked={value === option.code}
              aria-invalid={Boolean(error)}
              aria-describedby={error ? errorId : undefined}
              onChange={() => onChange('sex', option.code, false)}
            />
            {option.label}
          </label>
        ))}
      </div>
      {error && (
        <p id={errorId} className="message error">
          {error}
        </p>
      )}
    </fieldset>
  );
}
