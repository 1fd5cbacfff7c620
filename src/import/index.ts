import type { Config } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import type { Db } from '../db/db.js';
import type { GitStore } from '../git/store/git-store.js';
import type { ContentStore } from '../lfs/content-store.js';
import type { LfsRecords } from '../lfs/records.js';
import type { CommitService } from '../repos/commit-service.js';
import { ImportService, type ImportJobsPort } from './service.js';

export { ImportService, IMPORT_KIND } from './service.js';

/** The import of folders on disk, with its job kind ('import.scan') registered on the engine. */
export function createImport(deps: { config: Readonly<Config>; db: Db; store: GitStore; content: ContentStore; records: LfsRecords; commits: CommitService; jobs: ImportJobsPort; log: Logger }): ImportService {
  const { config } = deps;
  return new ImportService({
    db: deps.db,
    store: deps.store,
    content: deps.content,
    records: deps.records,
    commits: deps.commits,
    jobs: deps.jobs,
    roots: config.importRoots,
    lfsThreshold: config.lfsThreshold,
    maxObjectBytes: config.maxObjectBytes,
    upstreamUrl: config.upstream?.url ?? '',
    log: deps.log.child({ module: 'import' }),
  });
}
