import { JobEngine, type JobEngineDeps } from './engine.js';
import { noopHandler, noopOptions } from './noop.js';

export { JobEngine } from './engine.js';
export * from './types.js';

/** The engine with the built-in kinds registered (`noop`); other modules register theirs before start(). */
export function createJobEngine(deps: JobEngineDeps): JobEngine {
  const engine = new JobEngine(deps);
  engine.register('noop', noopHandler, noopOptions);
  return engine;
}
