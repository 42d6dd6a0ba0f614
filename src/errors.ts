// The Error shadergrad throws: which op refused or failed, and why, kept apart for callers that show or wrap it.

/**
 * An Error from shadergrad. Its message reads `shadergrad: <op>: <reason>` (or `shadergrad: <reason>`
 * where no one op is to blame); `op` and `reason` are those parts, so a caller that shows the error
 * to a person, or wraps it in its own, need not take the message apart.
 */
export class ShadergradError extends Error {
  override readonly name: string = 'ShadergradError';

  constructor(
    /** The function or method that threw, as its message names it (e.g. 'matmul', 'Solver.loadCheckpoint'). */
    readonly op: string | null,
    /** The message after the op: what was wrong, with the shapes or values. */
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`shadergrad: ${op === null ? '' : `${op}: `}${reason}`, options);
  }
}

/**
 * A failure of the GPU itself, not of the input: the device was lost, it reported an error, or a
 * read back failed. The work was not done, and the Engine may take no more (a lost device needs a
 * new Engine). An app tells it apart from bad input by class, not by message.
 */
export class DeviceError extends ShadergradError {
  override readonly name: string = 'DeviceError';
}

/** What went wrong, for a person: a ShadergradError's reason (its op left out), another Error's message, or the thrown value as text. */
export function errorReason(error: unknown): string {
  if (error instanceof ShadergradError) return error.reason;
  return error instanceof Error ? error.message : String(error);
}

/** The message without the library's 'shadergrad: ' prefix (`<op>: <reason>`), for wrapping in another message or printing under the caller's own prefix. */
export function errorMessage(error: unknown): string {
  if (error instanceof ShadergradError) return error.op === null ? error.reason : `${error.op}: ${error.reason}`;
  return error instanceof Error ? error.message : String(error);
}
