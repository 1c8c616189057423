/** An error caused by the user's input (spec, flags, data files). The CLI prints its
 *  message as one line and exits non-zero; the message names the problem and the fix. */
export class UserError extends Error {
  override readonly name = 'UserError';
}

/** Thrown inside training when the user asked to stop (Ctrl-C). Nothing of the level in flight is stored. */
export class Interrupted extends Error {
  override readonly name = 'Interrupted';
  constructor() {
    super('interrupted');
  }
}

/** A mistake at one field of a spec. `path` is dotted (e.g. "branches.0.chains"), so the message
 *  can name `--set` when the value came from there; the message itself starts with the path. */
export class SpecError extends UserError {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}
