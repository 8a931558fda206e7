// One class per failure, each with a stable `code` that operators can grep for and
// that docs/errors.md lists (test/errors.test.ts keeps the two in step).

export class WarmshakeError extends Error {
  readonly code: string;
  constructor (code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The config file has one or more problems; `problems` holds each with its path. */
export class ConfigInvalidError extends WarmshakeError {
  readonly problems: readonly string[];
  constructor (problems: readonly string[]) {
    super('WS_ERR_CONFIG_INVALID', `invalid configuration:\n  ${problems.join('\n  ')}`);
    this.problems = problems;
  }
}

/** A key file (private key, ticket keys, cache key) is readable by group/other or owned by someone else. */
export class KeyPermissionsError extends WarmshakeError {
  constructor (message: string) { super('WS_ERR_KEY_PERMISSIONS', message); }
}

/** A key or certificate file cannot be read or parsed. */
export class KeyFileError extends WarmshakeError {
  constructor (message: string, options?: ErrorOptions) { super('WS_ERR_KEY_FILE', message, options); }
}

/** The external session tier (Redis) did not answer in time or is unreachable. */
export class SessionStoreUnavailableError extends WarmshakeError {
  constructor (message: string, options?: ErrorOptions) { super('WS_ERR_SESSION_STORE_UNAVAILABLE', message, options); }
}

/** The native engine refused its config (a certificate, a cipher list, a bind) or could not start its thread. */
export class NativeEngineError extends WarmshakeError {
  constructor (message: string, options?: ErrorOptions) { super('WS_ERR_NATIVE_ENGINE', message, options); }
}

/** Command-line arguments that do not make sense. */
export class UsageError extends WarmshakeError {
  constructor (message: string) { super('WS_ERR_USAGE', message); }
}

/** An admin command that is unknown or malformed. */
export class AdminCommandError extends WarmshakeError {
  constructor (message: string) { super('WS_ERR_ADMIN_COMMAND', message); }
}

/** `warmshake ctl` found no admin socket answering at the path it tried; the message names the path and where the sockets are. */
export class AdminUnreachableError extends WarmshakeError {
  constructor (message: string) { super('WS_ERR_ADMIN_UNREACHABLE', message); }
}

/** warmshake could not start serving (a port in use, a worker that failed to start). */
export class StartupError extends WarmshakeError {
  constructor (message: string, options?: ErrorOptions) { super('WS_ERR_STARTUP', message, options); }
}

/** An address warmshake must listen on (a frontend bind, the admin socket or HTTP port) is held by another process; the message names it when it can, and the fix. */
export class AddressInUseError extends WarmshakeError {
  constructor (message: string) { super('WS_ERR_ADDRESS_IN_USE', message); }
}

/** Every server of a backend is down or failed to connect; `attempts` says why for each one tried. */
export class BackendUnavailableError extends WarmshakeError {
  readonly backend: string;
  readonly attempts: ReadonlyArray<{ server: string; reason: string }>;
  constructor (backend: string, attempts: ReadonlyArray<{ server: string; reason: string }>, message: string) {
    super('WS_ERR_BACKEND_UNAVAILABLE', message);
    this.backend = backend;
    this.attempts = attempts;
  }
}
