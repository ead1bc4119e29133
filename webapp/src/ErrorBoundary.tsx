import { Component, type ErrorInfo, type ReactNode } from 'react';

interface State {
  readonly error?: Error;
}

/** Turns a rendering crash into a message instead of a blank page. */
export class ErrorBoundary extends Component<{ readonly children: ReactNode }, State> {
  state: State = {};

  static getDerivedStateFromError(error: unknown): State {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  componentDidCatch(error: unknown, info: ErrorInfo): void {
    console.error('The page crashed', error, info.componentStack);
  }

  render(): ReactNode {
    if (!this.state.error) return this.props.children;
    return (
      <main className="page">
        <div className="card" role="alert">
          <h1>Something went wrong</h1>
          <p>The page hit an unexpected error and stopped. Reloading usually fixes it.</p>
          <p className="meta">Details: {this.state.error.message}</p>
          <button type="button" className="primary" onClick={() => window.location.reload()}>
            Reload the page
          </button>
        </div>
      </main>
    );
  }
}
