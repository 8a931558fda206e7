// One task at a time, and calls made while it runs coalesce into one more run: what a
// reload needs, since a SIGHUP during a reload means "the file changed again", and two
// reloads running together replace the same workers twice (and orphan some).

export class Coalesced<T> {
  #task: () => Promise<T>;
  #running: Promise<T> | undefined;
  #queued: Promise<T> | undefined;

  constructor (task: () => Promise<T>) {
    this.#task = task;
  }

  /** Whether a run is under way. */
  get busy (): boolean { return this.#running !== undefined; }

  /**
   * Runs the task now if idle; otherwise once more after the current run, however many
   * calls came in meanwhile (they all get that next run's result).
   */
  run (): Promise<T> {
    if (!this.#running) return this.#start();
    this.#queued ??= this.#running.then(() => undefined, () => undefined).then(() => {
      this.#queued = undefined;
      return this.#start();
    });
    return this.#queued;
  }

  #start (): Promise<T> {
    const run: Promise<T> = this.#task().finally(() => {
      if (this.#running === run) this.#running = undefined;
    });
    this.#running = run;
    return run;
  }
}
