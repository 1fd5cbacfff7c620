import type { Logger } from '../core/logger.js';
import type { RepoRecord } from '../db/db.js';

/** A ref a write moved: created (oldSha null), moved, or deleted (newSha null). */
export interface UpdatedRef {
  ref: string;
  oldSha: string | null;
  newSha: string | null;
}

/** A comment as events carry it. */
export interface EventComment {
  id: string;
  authorId: number | null;
  content: string;
  hidden: boolean;
}

/**
 * Something that happened to a repository, told after the write committed. `origin` is the base
 * URL the write came through (links in payloads), when a request made it.
 */
export type HubEvent =
  | { domain: 'repo'; scope: 'repo.content'; action: 'update'; repoId: string; updatedRefs: UpdatedRef[]; origin?: string }
  | {
      domain: 'discussion';
      scope: 'discussion' | 'discussion.comment';
      action: 'create' | 'update';
      repo: RepoRecord;
      /** The discussion's number (its state is read when the event is handled). */
      num: number;
      /** The comment made or changed; a new discussion's is its first comment, looked up when absent. */
      comment?: EventComment;
      origin?: string;
    };

export type EventListener = (event: HubEvent) => Promise<void> | void;

/**
 * A small in-process event bus. `emit` never throws and never waits: listeners run on a later
 * turn of the event loop, and their failures are logged, so an event can never block or fail
 * the write that caused it.
 */
export class EventBus {
  private readonly listeners = new Set<EventListener>();

  constructor(private readonly log: Logger) {}

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: HubEvent): void {
    for (const listener of this.listeners) {
      setImmediate(() => {
        try {
          Promise.resolve(listener(event)).catch((err: unknown) => this.log.error({ err, scope: event.scope }, 'event listener failed'));
        } catch (err) {
          this.log.error({ err, scope: event.scope }, 'event listener failed');
        }
      });
    }
  }
}

/** The comment of a discussion event (its latest text), as events carry it. */
export function eventComment(e: { id: string; data: Record<string, unknown> }, authorId: number | null): EventComment {
  const latest = (e.data.latest ?? {}) as { raw?: unknown };
  return { id: e.id, authorId, content: typeof latest.raw === 'string' ? latest.raw : '', hidden: !!e.data.hidden };
}
