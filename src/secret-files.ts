// Checks on the files a config names: readable, and for secrets, private to the
// running user (a cache or ticket key that others can read decrypts recorded traffic).
import { accessSync, constants, statSync } from 'node:fs';
import { KeyPermissionsError } from './errors.ts';

/** Problem text for an unreadable file, or undefined when it can be read. */
export function unreadable (file: string): string | undefined {
  try {
    const st = statSync(file);
    if (!st.isFile()) return `${file} is not a regular file`;
    accessSync(file, constants.R_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? `${file} does not exist` : `${file} cannot be read (${code ?? String(err)})`;
  }
}

/**
 * Refuses a secret file that group or others may read, or that another user owns;
 * the message names the file, its mode and the fix.
 */
export function checkSecretFile (file: string): void {
  const st = statSync(file);
  const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
  if ((st.mode & 0o077) !== 0) {
    throw new KeyPermissionsError(`${file} has mode ${mode}: group or others can read this secret; run chmod 600 ${file}`);
  }
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw new KeyPermissionsError(`${file} is owned by uid ${st.uid}, not by the running user (uid ${uid}); run chown ${uid} ${file}`);
  }
}

/** Problem text for a secret file, or undefined when it is readable and private. */
export function secretFileProblem (file: string): string | undefined {
  const missing = unreadable(file);
  if (missing) return missing;
  try {
    checkSecretFile(file);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
