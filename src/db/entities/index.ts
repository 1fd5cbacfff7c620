import { DiscussionEntity, DiscussionEventEntity, RepoLikeEntity } from './discussion.entity.js';
import { RepoAccessRequestEntity, RepoGateEntity } from './gated.entity.js';
import { JobEntity, JobLogEntity } from './job.entity.js';
import { LfsLockEntity, LfsObjectEntity, RepoLfsObjectEntity, SettingEntity } from './lfs.entity.js';
import { MirrorEntity } from './mirror.entity.js';
import { MembershipEntity, OrgEntity } from './org.entity.js';
import { PackEntity } from './pack.entity.js';
import { QuotaEntity } from './quota.entity.js';
import { RefEntity } from './ref.entity.js';
import { RepoEntity } from './repo.entity.js';
import { RepoRedirectEntity } from './repo-redirect.entity.js';
import { NamespaceNameEntity } from './namespace-name.entity.js';
import { SessionEntity } from './session.entity.js';
import { TokenEntity } from './token.entity.js';
import { UserEntity } from './user.entity.js';
import { WebhookDeliveryEntity, WebhookEntity, WebhookWatchEntity } from './webhook.entity.js';

export { RepoRedirectEntity, RepoGateEntity, RepoAccessRequestEntity, JobEntity, MirrorEntity, JobLogEntity, DiscussionEntity, DiscussionEventEntity, RepoLikeEntity, NamespaceNameEntity, SessionEntity, QuotaEntity, MembershipEntity, OrgEntity, LfsLockEntity, LfsObjectEntity, PackEntity, RefEntity, RepoEntity, RepoLfsObjectEntity, SettingEntity, TokenEntity, UserEntity, WebhookEntity, WebhookWatchEntity, WebhookDeliveryEntity };
export const ENTITIES = [UserEntity, TokenEntity, RepoEntity, PackEntity, RefEntity, LfsObjectEntity, RepoLfsObjectEntity, LfsLockEntity, SettingEntity, OrgEntity, MembershipEntity, QuotaEntity, SessionEntity, NamespaceNameEntity, JobEntity, JobLogEntity, MirrorEntity, DiscussionEntity, DiscussionEventEntity, RepoLikeEntity, WebhookEntity, WebhookWatchEntity, WebhookDeliveryEntity, RepoGateEntity, RepoAccessRequestEntity, RepoRedirectEntity];
