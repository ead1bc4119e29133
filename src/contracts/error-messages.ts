/** How an error reads in this library's logs, job results and reports: `Name: message`, or the value itself. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
