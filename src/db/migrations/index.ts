import { PgInit1795349636722 } from './pg/1795349636722-init.js';
import { PgOrganizations1795352632927 } from './pg/1795352632927-organizations.js';
import { PgQuotas1795353519843 } from './pg/1795353519843-quotas.js';
import { SqliteQuotas1795353518485 } from './sqlite/1795353518485-quotas.js';
import { SqliteAccountsSessions1795855068982 } from './sqlite/1795855068982-accounts-sessions.js';
import { PgAccountsSessions1795855070690 } from './pg/1795855070690-accounts-sessions.js';
import { PgJobs1795866972930 } from './pg/1795866972930-jobs.js';
import { SqliteJobs1795866969704 } from './sqlite/1795866969704-jobs.js';
import { PgDiscussions1795867229138 } from './pg/1795867229138-discussions.js';
import { SqliteDiscussions1795867219640 } from './sqlite/1795867219640-discussions.js';
import { PgLikes1795868980356 } from './pg/1795868980356-likes.js';
import { SqliteLikes1795868969671 } from './sqlite/1795868969671-likes.js';
import { PgReclaimStorage1795867049077 } from './pg/1795867049077-reclaim-storage.js';
import { SqliteReclaimStorage1795867046323 } from './sqlite/1795867046323-reclaim-storage.js';
import { PgWebhooks1795871420806 } from './pg/1795871420806-webhooks.js';
import { SqliteWebhooks1795871416447 } from './sqlite/1795871416447-webhooks.js';
import { PgGated1795871322707 } from './pg/1795871322707-gated.js';
import { SqliteGated1795871318986 } from './sqlite/1795871318986-gated.js';
import { PgCommitMap1795879619356 } from './pg/1795879619356-CommitMap.js';
import { SqliteCommitMap1795879613077 } from './sqlite/1795879613077-CommitMap.js';
import { PgJobResult1795883091537 } from './pg/1795883091537-JobResult.js';
import { SqliteJobResult1795883080240 } from './sqlite/1795883080240-JobResult.js';
import { SqliteProfilesLfsDeletions1795879557285 } from './sqlite/1795879557285-profiles-lfs-deletions.js';
import { PgProfilesLfsDeletions1795879561280 } from './pg/1795879561280-profiles-lfs-deletions.js';
import { PgCollections1795879716491 } from './pg/1795879716491-collections.js';
import { SqliteCollections1795879704903 } from './sqlite/1795879704903-collections.js';
import { SqliteRepoNameKeys1795879619531 } from './sqlite/1795879619531-RepoNameKeys.js';
import { PgRepoNameKeys1795879625097 } from './pg/1795879625097-RepoNameKeys.js';
import { SqliteInit1795349635621 } from './sqlite/1795349635621-init.js';
import { SqliteOrganizations1795352631666 } from './sqlite/1795352631666-organizations.js';

import { SqliteMirrors1795867411282 } from './sqlite/1795867411282-mirrors.js';
import { PgMirrors1795867419427 } from './pg/1795867419427-mirrors.js';
import { SqliteDownloads1795879567441 } from './sqlite/1795879567441-downloads.js';
import { PgDownloads1795879570808 } from './pg/1795879570808-downloads.js';

/** Migrations are generated per driver (`npm run db:migration -- Name`) and kept apart. */
export const SQLITE_MIGRATIONS = [SqliteInit1795349635621, SqliteOrganizations1795352631666, SqliteQuotas1795353518485, SqliteAccountsSessions1795855068982, SqliteJobs1795866969704, SqliteMirrors1795867411282, SqliteDiscussions1795867219640, SqliteLikes1795868969671, SqliteReclaimStorage1795867046323, SqliteWebhooks1795871416447, SqliteGated1795871318986, SqliteCommitMap1795879613077, SqliteJobResult1795883080240, SqliteDownloads1795879567441, SqliteProfilesLfsDeletions1795879557285, SqliteCollections1795879704903, SqliteRepoNameKeys1795879619531];
export const PG_MIGRATIONS = [PgInit1795349636722, PgOrganizations1795352632927, PgQuotas1795353519843, PgAccountsSessions1795855070690, PgJobs1795866972930, PgMirrors1795867419427, PgDiscussions1795867229138, PgLikes1795868980356, PgReclaimStorage1795867049077, PgWebhooks1795871420806, PgGated1795871322707, PgCommitMap1795879619356, PgJobResult1795883091537, PgDownloads1795879570808, PgProfilesLfsDeletions1795879561280, PgCollections1795879716491, PgRepoNameKeys1795879625097];
