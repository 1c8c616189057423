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
 *  can name `--set` when the value came from there; the message itself starts with the path.
 *  `also`: the other fields a cross-field check read (e.g. pruning.levels for a branch's level),
 *  so that a `--set` of one of them is named too. */
export class SpecError extends UserError {
  constructor(
    readonly path: string,
    message: string,
    readonly also: readonly string[] = [],
  ) {
    super(message);
  }
}

/**
 * One line for a file-system error on a path the user gave (an output that exists with the
 * wrong type, a full disk, no permission), naming the path and the fix; null for any other
 * error, which is a bug and keeps its stack trace.
 */
export function fileErrorLine(e: unknown): string | null {
  const err = e as NodeJS.ErrnoException;
  if (!err || typeof err.code !== 'string' || typeof err.path !== 'string') return null;
  const p = err.path;
  switch (err.code) {
    case 'EISDIR':
      return `${p} is a folder, where a file is needed: give a file path (for example ${p.replace(/\/+$/, '')}/NAME) or another name`;
    case 'ENOTDIR':
      return `${p}: a part of this path is a file, where a folder is needed: give another path`;
    case 'EEXIST':
      return `${p} already exists and is not a folder: give another path, or move the file away`;
    case 'EACCES':
    case 'EPERM':
      return `${p}: permission denied: give a path you can write to`;
    case 'EROFS':
      return `${p} is on a read-only file system: give a path you can write to`;
    case 'ENOSPC':
      return `no space left on the device while writing ${p}: free some space and run the command again (stored results are kept)`;
    default:
      return null;
  }
}
